package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

// stayCancelled checks, for a while, that an Agenda cancelled before admission keeps its
// end: phase Cancelled, Failed=True and Cancelled=True with reason Cancelled, every
// operation Cancelled, never admitted, no Pod.
func stayCancelled(ag *popv1.Agenda) {
	GinkgoHelper()
	Consistently(func(g Gomega) {
		cur := getAgenda(g, ag)
		g.Expect(cur.Status.Phase).To(Equal(popv1.PhaseCancelled))
		for _, typ := range []string{popv1.AgendaFailed, popv1.AgendaCancelled} {
			c := meta.FindStatusCondition(cur.Status.Conditions, typ)
			g.Expect(c).NotTo(BeNil(), typ)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue), typ)
			g.Expect(c.Reason).To(Equal(popv1.ReasonCancelled), typ)
		}
		g.Expect(popv1.IsAdmitted(cur)).To(BeFalse())
		for _, o := range cur.Status.Operations {
			g.Expect(o.State).To(Equal(popv1.OperationCancelled), o.Name)
		}
		g.Expect(podsOf(g, ag, "")).To(BeEmpty())
	}, 2*time.Second, framework.Interval).Should(Succeed())
}

var _ = Describe("Cancel before admission", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace("early") })

	It("ends a queued Agenda at once, runs nothing, frees its place and stays Cancelled", func() {
		ins := localInsight("closed", ns).Paused(true).Obj()
		Expect(env.Client.Create(ctx, ins)).To(Succeed())
		ag := builders.MakeAgenda("queued", ns).Op("a", "echo", 1).Op("b", "echo", "@<a.out>").Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		waitForPhase(ag, popv1.PhaseQueued)

		cancelAgenda(ag)
		stayCancelled(ag)
		Eventually(func(g Gomega) int32 {
			var cur popv1.Insight
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ins), &cur)).To(Succeed())
			return cur.Status.Pending
		}, framework.Timeout, framework.Interval).Should(BeZero())

		By("opening the Insight admits nothing")
		Eventually(func(g Gomega) {
			var cur popv1.Insight
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ins), &cur)).To(Succeed())
			cur.Spec.Paused = false
			g.Expect(env.Client.Update(ctx, &cur)).To(Succeed())
		}, framework.Timeout).Should(Succeed())
		stayCancelled(ag)
	})

	It("ends an invalid Agenda as Cancelled, not Invalid", func() {
		ag := builders.MakeAgenda("invalid", ns).Op("a", "echo", 1).DependsOn("a").Obj()
		ag.Spec.Cancel = true
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		waitForPhase(ag, popv1.PhaseCancelled)
		stayCancelled(ag)
	})
})
