package controllers_test

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

// attempts returns each operation's attempt count.
func attempts(ag *popv1.Agenda) map[string]int32 {
	out := map[string]int32{}
	for _, o := range ag.Status.Operations {
		out[o.Name] = o.Attempts
	}
	return out
}

// requestRerun sets spec.rerun and waits until the Agenda is back in its queue.
func requestRerun(ag *popv1.Agenda, id string, mode popv1.RerunMode, ops ...string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		cur := getAgenda(g, ag)
		cur.Spec.Rerun = &popv1.RerunSpec{ID: id, Mode: mode, Operations: ops}
		g.Expect(env.Client.Update(ctx, cur)).To(Succeed())
	}, framework.Timeout).Should(Succeed())
	Eventually(func(g Gomega) {
		cur := getAgenda(g, ag)
		g.Expect(cur.Status.ObservedRerunID).To(Equal(id))
		c := meta.FindStatusCondition(cur.Status.Conditions, popv1.AgendaAdmitted)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(popv1.ReasonRerunRequested))
		g.Expect(cur.Status.Phase).To(Equal(popv1.PhasePending))
	}, framework.Timeout, framework.Interval).Should(Succeed())
}

var _ = Describe("Agenda lifecycle", func() {
	var ns string
	BeforeEach(func() {
		ns = newNamespace("life")
		sim.SetScript(podsim.Echo)
	})

	It("reruns from failure, named operations with their dependents, and all", func() {
		sim.SetScript(func(pod *corev1.Pod) podsim.Behaviour {
			if pod.Labels[popv1.OperationLabel] == "c" && pod.Labels[popv1.AttemptLabel] == "1" {
				return podsim.Behaviour{ExitCode: 1, Message: "first try fails"}
			}
			return podsim.Echo(pod)
		})
		ag := builders.MakeAgenda("rerun", ns).Op("a", "echo", 1).Op("b", "echo", "@<a.out>").Op("c", "echo", "@<b.out>").Obj()
		createAndAdmit(ag)
		Expect(attempts(waitForPhase(ag, popv1.PhaseFailed))).To(Equal(map[string]int32{"a": 1, "b": 1, "c": 1}))

		By("FromFailure: only the failed operation runs again")
		requestRerun(ag, "r1", popv1.RerunFromFailure)
		admit(ag)
		Expect(attempts(waitForPhase(ag, popv1.PhaseSucceeded))).To(Equal(map[string]int32{"a": 1, "b": 1, "c": 2}))

		By("Operations [b]: b and its dependent c run again")
		requestRerun(ag, "r2", popv1.RerunOperations, "b")
		admit(ag)
		Expect(attempts(waitForPhase(ag, popv1.PhaseSucceeded))).To(Equal(map[string]int32{"a": 1, "b": 2, "c": 3}))

		By("All: everything runs again")
		requestRerun(ag, "r3", popv1.RerunAll)
		admit(ag)
		done := waitForPhase(ag, popv1.PhaseSucceeded)
		Expect(attempts(done)).To(Equal(map[string]int32{"a": 2, "b": 3, "c": 4}))
		Expect(opStatus(done, "c").Output).To(Equal("1"))
	})

	It("records an Event for the Agenda's end and none for the steps that went as expected", func() {
		ag := builders.MakeAgenda("eventful", ns).Op("a", "echo", 1).Obj()
		createAndAdmit(ag)
		waitForPhase(ag, popv1.PhaseSucceeded)
		reasons := func(g Gomega) []string {
			var list eventsv1.EventList
			g.Expect(env.Client.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			var reasons []string
			for _, e := range list.Items {
				if e.Regarding.Name == "eventful" {
					reasons = append(reasons, e.Reason)
				}
			}
			return reasons
		}
		Eventually(reasons, framework.Timeout, framework.Interval).Should(ContainElement(popv1.ReasonAllOperationsSucceed))
		// Pending, Queued and Running are in status; an Event each would be API writes per Agenda.
		Consistently(reasons, time.Second, framework.Interval).Should(ConsistOf(popv1.ReasonAllOperationsSucceed))
	})

	It("waits for a missing HandlerType, says which, and runs once it appears", func() {
		ag := builders.MakeAgenda("waits", ns).Op("x", "later", "p").Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		Eventually(func(g Gomega) {
			c := meta.FindStatusCondition(getAgenda(g, ag).Status.Conditions, popv1.AgendaAccepted)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(popv1.ReasonHandlerTypeMissing))
			g.Expect(c.Message).To(ContainSubstring(`HandlerType "later" not found in namespace "` + ns + `" or "pop-system"`))
		}, framework.Timeout, framework.Interval).Should(Succeed())

		By("a cluster-wide default in the operator's namespace satisfies it")
		Expect(env.Client.Create(ctx, builders.MakeHandlerType("later", operatorNamespace, "img:1").Obj())).To(Succeed())
		admit(ag)
		waitForPhase(ag, popv1.PhaseSucceeded)
	})

	It("marks an invalid Agenda that reached the controller Accepted=False with field paths", func() {
		ag := builders.MakeAgenda("invalid", ns).Op("a", "echo", "@<ghost.out>").Op("b", "echo").DependsOn("b").Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		Eventually(func(g Gomega) {
			cur := getAgenda(g, ag)
			g.Expect(cur.Status.Phase).To(Equal(popv1.PhaseInvalid))
			c := meta.FindStatusCondition(cur.Status.Conditions, popv1.AgendaAccepted)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(popv1.ReasonInvalidSpec))
			g.Expect(c.Message).To(ContainSubstring(`spec.operations[0].payload: Invalid value: "ghost": unknown operation "ghost"`))
			g.Expect(c.Message).To(ContainSubstring(`spec.operations[1].dependsOn[0]: Invalid value: "b": an operation cannot depend on itself`))
		}, framework.Timeout, framework.Interval).Should(Succeed())
	})

	It("survives a manager restart mid-run: no duplicate Pod, no lost operation", func() {
		sim.SetScript(func(pod *corev1.Pod) podsim.Behaviour {
			b := podsim.Echo(pod)
			b.RunFor = 300 * time.Millisecond
			return b
		})
		w := builders.MakeAgenda("restart", ns).Op("op0", "echo", 0)
		for i := 1; i < 8; i++ {
			w.Op(opName(i), "echo", "@<"+opName(i-1)+".out>")
		}
		w.Op("side", "echo", "s")
		ag := w.Obj()
		createAndAdmit(ag)
		Eventually(func(g Gomega) {
			g.Expect(opStatus(getAgenda(g, ag), "op3").State).To(Equal(popv1.OperationExecuting))
		}, framework.Timeout, 10*time.Millisecond).Should(Succeed())

		By("stopping the manager while op3 runs, then starting a new one")
		stopManager()
		time.Sleep(500 * time.Millisecond) // op3's Pod finishes while nobody watches
		stopManager = startManager()

		done := waitForPhase(ag, popv1.PhaseSucceeded)
		Expect(opStatus(done, "op7").Output).To(Equal("0"))
		for _, o := range done.Status.Operations {
			Expect(o.Attempts).To(Equal(int32(1)), "operation %s ran more than once", o.Name)
		}
		var started []string
		for _, p := range sim.Started() {
			if strings.HasPrefix(p, ns+"/") {
				started = append(started, p)
			}
		}
		Expect(started).To(HaveLen(9), "one Pod per operation, none twice")
		Expect(started).To(HaveEach(HaveSuffix("-1")))
	})
})

func opName(i int) string { return "op" + string(rune('0'+i)) }
