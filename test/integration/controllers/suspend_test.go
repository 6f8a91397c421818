package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

// setSuspend sets spec.suspend.
func setSuspend(ag *popv1.Agenda, on bool) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		cur := getAgenda(g, ag)
		cur.Spec.Suspend = on
		g.Expect(env.Client.Update(ctx, cur)).To(Succeed())
	}, framework.Timeout).Should(Succeed())
}

// expectCondition checks one condition's status and reason.
func expectCondition(g Gomega, ag *popv1.Agenda, typ string, status metav1.ConditionStatus, reason string) {
	c := meta.FindStatusCondition(ag.Status.Conditions, typ)
	g.Expect(c).NotTo(BeNil(), typ)
	g.Expect(c.Status).To(Equal(status), typ)
	g.Expect(c.Reason).To(Equal(reason), typ)
}

var _ = Describe("Suspend", func() {
	var ns string
	BeforeEach(func() {
		ns = newNamespace("suspend")
		sim.SetScript(podsim.Echo)
		Expect(env.Client.Create(ctx, localInsight("fifo", ns).Obj())).To(Succeed())
	})

	It("lets the running Pod finish, starts no new one while suspended, and resumes", func() {
		sim.SetScript(podsim.EchoAfter(1500 * time.Millisecond))
		ag := builders.MakeAgenda("pipeline", ns).Op("a", "echo", 1).Op("b", "echo", "@<a.out>").Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		Eventually(func(g Gomega) popv1.OperationState {
			return opStatus(getAgenda(g, ag), "a").State
		}, framework.Timeout, framework.Interval).Should(Equal(popv1.OperationExecuting))

		setSuspend(ag, true)
		By("a finishes; b does not start and the status says why")
		Eventually(func(g Gomega) {
			cur := getAgenda(g, ag)
			g.Expect(opStatus(cur, "a").State).To(Equal(popv1.OperationSucceeded))
			expectCondition(g, cur, popv1.AgendaSuspended, metav1.ConditionTrue, popv1.ReasonSuspended)
			expectCondition(g, cur, popv1.AgendaRunning, metav1.ConditionFalse, popv1.ReasonSuspended)
		}, framework.Timeout, framework.Interval).Should(Succeed())
		Consistently(func(g Gomega) {
			cur := getAgenda(g, ag)
			g.Expect(cur.Status.Phase).To(Equal(popv1.PhaseRunning))
			g.Expect(opStatus(cur, "b").State).To(Equal(popv1.OperationWaiting))
			g.Expect(podsOf(g, ag, "b")).To(BeEmpty())
		}, 2*time.Second, framework.Interval).Should(Succeed())

		By("resume: b runs and the Agenda succeeds")
		setSuspend(ag, false)
		done := waitForPhase(ag, popv1.PhaseSucceeded)
		Expect(attempts(done)).To(Equal(map[string]int32{"a": 1, "b": 1}))
		expectCondition(Default, done, popv1.AgendaSuspended, metav1.ConditionFalse, popv1.ReasonResumed)
	})

	It("admits an Agenda created suspended but starts nothing until it is resumed", func() {
		ag := builders.MakeAgenda("held", ns).Op("a", "echo", 1).Obj()
		ag.Spec.Suspend = true
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		Eventually(func(g Gomega) {
			cur := getAgenda(g, ag)
			g.Expect(popv1.IsAdmitted(cur)).To(BeTrue())
			expectCondition(g, cur, popv1.AgendaSuspended, metav1.ConditionTrue, popv1.ReasonSuspended)
		}, framework.Timeout, framework.Interval).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(podsOf(g, ag, "")).To(BeEmpty())
		}, time.Second, framework.Interval).Should(Succeed())
		setSuspend(ag, false)
		waitForPhase(ag, popv1.PhaseSucceeded)
	})
})
