package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

// An Agenda that has started must always be able to end: these are the ways it used to
// freeze while holding its Insight's capacity (issue 11, items 1 and 4).
var _ = Describe("A running Agenda never freezes", func() {
	var ns string
	BeforeEach(func() {
		ns = newNamespace("freeze")
		sim.SetScript(podsim.Echo)
	})

	// startWithFleetingHandler runs an Agenda whose operations use a HandlerType that is
	// deleted once the first operation's Pod runs; the Pod runs for runFor.
	startWithFleetingHandler := func(name string, runFor time.Duration, edit func(*popv1.Agenda)) *popv1.Agenda {
		GinkgoHelper()
		ht := builders.MakeHandlerType("fleeting", ns, "img:1").Obj()
		Expect(env.Client.Create(ctx, ht)).To(Succeed())
		sim.SetScript(podsim.EchoAfter(runFor))
		ag := builders.MakeAgenda(name, ns).Op("first", "fleeting", "one").Op("second", "fleeting", "@<first.out>").Obj()
		if edit != nil {
			edit(ag)
		}
		createAndAdmit(ag)
		Eventually(func(g Gomega) {
			g.Expect(opStatus(getAgenda(g, ag), "first").State).To(Equal(popv1.OperationExecuting))
		}, framework.Timeout, framework.Interval).Should(Succeed())
		Expect(env.Client.Delete(ctx, ht)).To(Succeed())
		return ag
	}

	It("keeps observing the Pods of a HandlerType deleted mid-run, holds only new launches, then fails them", func() {
		ag := startWithFleetingHandler("orphaned", 2*time.Second, nil)

		By("the running attempt is still observed and its output recorded")
		Eventually(func(g Gomega) {
			cur := getAgenda(g, ag)
			g.Expect(opStatus(cur, "first").State).To(Equal(popv1.OperationSucceeded))
			g.Expect(opStatus(cur, "first").Output).To(Equal(`"one"`))
			second := opStatus(cur, "second")
			g.Expect(second.State).To(Equal(popv1.OperationWaiting))
			g.Expect(second.Message).To(ContainSubstring(`HandlerType "fleeting" not found`))
		}, framework.Timeout, framework.Interval).Should(Succeed())
		Expect(podsOf(Default, ag, "second")).To(BeEmpty())

		By("after the launch wait the waiting operation fails and the Agenda ends")
		done := waitForPhase(ag, popv1.PhaseFailed)
		Expect(opStatus(done, "second").State).To(Equal(popv1.OperationFailed))
		Expect(opStatus(done, "second").Message).To(ContainSubstring(`HandlerType "fleeting" not found`))
	})

	It("honours cancel while its HandlerType is missing", func() {
		ag := startWithFleetingHandler("cancel-orphan", time.Hour, nil)
		Eventually(func(g Gomega) {
			cur := getAgenda(g, ag)
			cur.Spec.Cancel = true
			g.Expect(env.Client.Update(ctx, cur)).To(Succeed())
		}, framework.Timeout).Should(Succeed())
		done := waitForPhase(ag, popv1.PhaseCancelled)
		Expect(opStatus(done, "first").State).To(Equal(popv1.OperationCancelled))
		Eventually(func(g Gomega) { g.Expect(podsOf(g, ag, "")).To(BeEmpty()) }, framework.Timeout).Should(Succeed())
	})

	It("honours spec.timeout while its HandlerType is missing", func() {
		ag := startWithFleetingHandler("timeout-orphan", time.Hour, func(ag *popv1.Agenda) {
			ag.Spec.Timeout = duration(3 * time.Second)
		})
		done := waitForPhase(ag, popv1.PhaseFailed)
		Expect(meta.FindStatusCondition(done.Status.Conditions, popv1.AgendaFailed).Reason).To(Equal(popv1.ReasonTimeout))
		Eventually(func(g Gomega) { g.Expect(podsOf(g, ag, "")).To(BeEmpty()) }, framework.Timeout).Should(Succeed())
	})

	It("stops a running Agenda deleted while a finalizer holds it, and frees its Insight slot", func() {
		const hold = "test.pop.dev/hold"
		Expect(env.Client.Create(ctx, localInsight("one-slot", ns).Obj())).To(Succeed())
		sim.SetScript(func(pod *corev1.Pod) podsim.Behaviour {
			if pod.Labels[popv1.AgendaLabel] == "held" {
				return podsim.Behaviour{RunFor: time.Hour}
			}
			return podsim.Echo(pod)
		})
		held := oneOp("held", ns).Obj()
		controllerutil.AddFinalizer(held, hold)
		Expect(env.Client.Create(ctx, held)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(opStatus(getAgenda(g, held), "op").State).To(Equal(popv1.OperationExecuting))
		}, framework.Timeout, framework.Interval).Should(Succeed())
		next := oneOp("next", ns).Obj()
		Expect(env.Client.Create(ctx, next)).To(Succeed())

		Expect(env.Client.Delete(ctx, held)).To(Succeed())

		By("its Pods stop and its status says it ended")
		Eventually(func(g Gomega) { g.Expect(podsOf(g, held, "")).To(BeEmpty()) }, framework.Timeout).Should(Succeed())
		ended := waitForPhase(held, popv1.PhaseFailed)
		Expect(meta.FindStatusCondition(ended.Status.Conditions, popv1.AgendaFailed).Reason).To(Equal("Deleted"))
		Expect(opStatus(ended, "op").State).To(Equal(popv1.OperationCancelled))

		By("the slot it held goes to the next Agenda")
		waitForPhase(next, popv1.PhaseSucceeded)

		By("the finalizer's owner then lets it go")
		Eventually(func(g Gomega) {
			cur := getAgenda(g, held)
			controllerutil.RemoveFinalizer(cur, hold)
			g.Expect(env.Client.Update(ctx, cur)).To(Succeed())
		}, framework.Timeout).Should(Succeed())
		Eventually(func(g Gomega) {
			err := env.Client.Get(ctx, client.ObjectKeyFromObject(held), &popv1.Agenda{})
			g.Expect(client.IgnoreNotFound(err)).To(Succeed())
			g.Expect(err).To(HaveOccurred())
		}, framework.Timeout).Should(Succeed())
	})
})
