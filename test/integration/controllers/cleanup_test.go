package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

// podExists reports whether the Pod of an operation's last attempt is still there.
func podExists(g Gomega, ag *popv1.Agenda, op string) bool {
	var pod corev1.Pod
	err := env.Client.Get(ctx, client.ObjectKey{Namespace: ag.Namespace, Name: opStatus(ag, op).Pod}, &pod)
	g.Expect(client.IgnoreNotFound(err)).To(Succeed())
	return err == nil && pod.DeletionTimestamp == nil
}

var _ = Describe("Pod cleanup when an Agenda finishes", func() {
	var ns string
	BeforeEach(func() {
		ns = newNamespace("cleanup")
		sim.SetScript(byOperation(map[string]podsim.Behaviour{"bad": {ExitCode: 1, Message: "kept for kubectl logs"}}))
		DeferCleanup(func() { sim.SetScript(podsim.Echo) })
	})

	// DescribeTable: one Agenda per policy, with a succeeding and a failing operation
	// (ContinueIndependent, so both run to their end).
	DescribeTable("keeps the Pods the policy says, deletes the others",
		func(policy popv1.PodCleanup, keepSucceeded, keepFailed bool) {
			ag := builders.MakeAgenda("policy", ns).Op("good", "echo", 1).Op("bad", "echo", 2).Obj()
			ag.Spec.FailurePolicy, ag.Spec.PodCleanup = popv1.ContinueIndependent, policy
			createAndAdmit(ag)
			done := waitForPhase(ag, popv1.PhaseFailed)
			Expect(opStatus(done, "good").State).To(Equal(popv1.OperationSucceeded))
			Expect(opStatus(done, "bad").State).To(Equal(popv1.OperationFailed))
			Eventually(func(g Gomega) {
				g.Expect(podExists(g, done, "good")).To(Equal(keepSucceeded), "succeeded Pod kept")
				g.Expect(podExists(g, done, "bad")).To(Equal(keepFailed), "failed Pod kept")
			}, framework.Timeout, framework.Interval).Should(Succeed())
			Consistently(func(g Gomega) {
				g.Expect(podExists(g, done, "good")).To(Equal(keepSucceeded), "succeeded Pod kept")
				g.Expect(podExists(g, done, "bad")).To(Equal(keepFailed), "failed Pod kept")
			}, time.Second, framework.Interval).Should(Succeed())
		},
		Entry("KeepFailed (the default): the failed Pod stays for its logs", popv1.PodCleanup(""), false, true),
		Entry("KeepAll", popv1.KeepAll, true, true),
		Entry("DeleteAll", popv1.DeleteAll, false, false),
	)

	It("deletes nothing while the Agenda runs", func() {
		sim.SetScript(byOperation(map[string]podsim.Behaviour{"slow": {RunFor: 2 * time.Second}}))
		ag := builders.MakeAgenda("running", ns).Op("quick", "echo", 1).Op("slow", "echo", 2).Obj()
		ag.Spec.PodCleanup = popv1.DeleteAll
		createAndAdmit(ag)
		Eventually(func(g Gomega) {
			g.Expect(opStatus(getAgenda(g, ag), "quick").State).To(Equal(popv1.OperationSucceeded))
		}, framework.Timeout, framework.Interval).Should(Succeed())
		Consistently(func(g Gomega) {
			cur := getAgenda(g, ag)
			if cur.Status.Phase == popv1.PhaseRunning {
				g.Expect(podExists(g, cur, "quick")).To(BeTrue(), "a finished Pod was deleted while its Agenda ran")
			}
		}, time.Second, framework.Interval).Should(Succeed())
		done := waitForPhase(ag, popv1.PhaseSucceeded)
		Eventually(func(g Gomega) { g.Expect(podExists(g, done, "quick")).To(BeFalse()) }, framework.Timeout).Should(Succeed())
	})
})
