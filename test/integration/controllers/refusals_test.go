package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

// A Pod the API server refuses is not retried forever (issue 11, item 2): a refusal that
// would repeat fails the attempt with the API server's message; one that may pass (quota) is
// retried with backoff until the launch wait ends.
var _ = Describe("Pods the API server refuses", func() {
	var ns string
	BeforeEach(func() {
		ns = newNamespace("refused")
		sim.SetScript(podsim.Echo)
	})

	It("fails the attempt of a Pod refused as invalid, with the API server's message", func() {
		ht := builders.MakeHandlerType("badnode", ns, "img:1").Obj()
		ht.Spec.NodeSelector = map[string]string{"bad key!": "x"}
		Expect(env.Client.Create(ctx, ht)).To(Succeed())
		ag := builders.MakeAgenda("invalid-pod", ns).Op("a", "badnode").Op("b", "echo", "@<a.out>").Obj()
		createAndAdmit(ag)
		done := waitForPhase(ag, popv1.PhaseFailed)
		a := opStatus(done, "a")
		Expect(a.State).To(Equal(popv1.OperationFailed))
		Expect(a.Message).To(ContainSubstring("spec.nodeSelector"))
		Expect(a.Attempts).To(Equal(int32(1)))
		Expect(opStatus(done, "b").State).To(Equal(popv1.OperationSkipped))
	})

	It("fails the attempt of a Pod forbidden by policy (a LimitRange), with the API server's message", func() {
		lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "small", Namespace: ns}, Spec: corev1.LimitRangeSpec{
			Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}}
		Expect(env.Client.Create(ctx, lr)).To(Succeed())
		ag := builders.MakeAgenda("too-big", ns).Op("a", "echo").Obj()
		ag.Spec.Operations[0].Resources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}
		createAndAdmit(ag)
		done := waitForPhase(ag, popv1.PhaseFailed)
		Expect(opStatus(done, "a").Message).To(ContainSubstring("maximum cpu usage per Container is 100m"))
	})

	It("retries a Pod refused by quota with backoff, runs it once the quota allows, and gives up after the launch wait", func() {
		quota := fullQuota(ns)
		ag := builders.MakeAgenda("quota-freed", ns).Op("a", "echo", 1).Obj()
		createAndAdmit(ag)
		Eventually(func(g Gomega) {
			a := opStatus(getAgenda(g, ag), "a")
			g.Expect(a.State).To(Equal(popv1.OperationWaiting))
			g.Expect(a.Message).To(ContainSubstring("exceeded quota"))
		}, framework.Timeout, framework.Interval).Should(Succeed())
		Expect(env.Client.Delete(ctx, quota)).To(Succeed())
		waitForPhase(ag, popv1.PhaseSucceeded)

		By("a quota that never frees up fails the attempt after the launch wait")
		fullQuota(ns)
		stuck := builders.MakeAgenda("quota-stuck", ns).Op("a", "echo", 1).Obj()
		createAndAdmit(stuck)
		start := time.Now()
		done := waitForPhase(stuck, popv1.PhaseFailed)
		Expect(time.Since(start)).To(BeNumerically(">=", 2*time.Second), "it gave up before the launch wait")
		Expect(opStatus(done, "a").Message).To(ContainSubstring("exceeded quota"))
	})
})

// fullQuota allows no Pod in ns. Without kube-controller-manager nobody computes a quota's
// status, so the test writes it as the quota controller would.
func fullQuota(ns string) *corev1.ResourceQuota {
	GinkgoHelper()
	q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "no-pods", Namespace: ns},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("0")}}}
	Expect(env.Client.Create(ctx, q)).To(Succeed())
	q.Status = corev1.ResourceQuotaStatus{Hard: q.Spec.Hard, Used: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("0")}}
	Expect(env.Client.Status().Update(ctx, q)).To(Succeed())
	return q
}
