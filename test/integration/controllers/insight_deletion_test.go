package controllers_test

import (
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

// admissionWatch counts the admitted, unfinished Agendas of a namespace at every watch
// event, so that an overshoot between two polls cannot go unseen.
type admissionWatch struct {
	mu      sync.Mutex
	running map[string]bool
	max     int
	stop    func()
}

func watchAdmissions(ns string) *admissionWatch {
	GinkgoHelper()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: framework.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	w, err := wc.Watch(ctx, &popv1.AgendaList{}, client.InNamespace(ns))
	Expect(err).NotTo(HaveOccurred())
	a := &admissionWatch{running: map[string]bool{}, stop: w.Stop}
	go func() {
		for ev := range w.ResultChan() {
			if ag, ok := ev.Object.(*popv1.Agenda); ok {
				a.see(ev.Type, ag)
			}
		}
	}()
	return a
}

func (a *admissionWatch) see(typ watch.EventType, ag *popv1.Agenda) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.running[ag.Name] = typ != watch.Deleted && popv1.IsRunning(ag)
	n := 0
	for _, r := range a.running {
		if r {
			n++
		}
	}
	a.max = max(a.max, n)
}

func (a *admissionWatch) maxRunning() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.max
}

// holdFirst runs the Pods of Agenda "long" for an hour and echoes every other at once.
func holdFirst(pod *corev1.Pod) podsim.Behaviour {
	b := podsim.Echo(pod)
	if pod.Labels[popv1.AgendaLabel] == "long" {
		b.RunFor = time.Hour
	}
	return b
}

func cancelAgenda(ag *popv1.Agenda) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		cur := getAgenda(g, ag)
		cur.Spec.Cancel = true
		g.Expect(env.Client.Update(ctx, cur)).To(Succeed())
	}, framework.Timeout).Should(Succeed())
	waitForPhase(ag, popv1.PhaseCancelled)
}

var _ = Describe("A deleted Insight", func() {
	var ns string
	BeforeEach(func() {
		ns = newNamespace("gone")
		sim.SetScript(holdFirst)
		DeferCleanup(func() { sim.SetScript(podsim.Echo) })
	})

	It("admits nothing more: its waiting Agenda is matched again and waits for an Insight", func() {
		ins := localInsight("serial", ns).Obj()
		Expect(env.Client.Create(ctx, ins)).To(Succeed())
		long, next := oneOp("long", ns).Obj(), oneOp("next", ns).Obj()
		Expect(env.Client.Create(ctx, long)).To(Succeed())
		waitForPhase(long, popv1.PhaseRunning)
		Expect(env.Client.Create(ctx, next)).To(Succeed())
		waitForPhase(next, popv1.PhaseQueued)

		Expect(env.Client.Delete(ctx, ins)).To(Succeed())
		Eventually(func(g Gomega) {
			c := meta.FindStatusCondition(getAgenda(g, next).Status.Conditions, popv1.AgendaQueued)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(popv1.ReasonNoMatchingInsight))
		}, framework.Timeout, framework.Interval).Should(Succeed())
		cancelAgenda(long) // its capacity frees: a deleted Insight must not use it
		Consistently(func(g Gomega) bool {
			return popv1.IsAdmitted(getAgenda(g, next))
		}, 3*time.Second, framework.Interval).Should(BeFalse(), "admitted by a deleted Insight")
	})

	It("holds its capacity when re-created after a scheduler restart, for the Agendas it still runs", func() {
		ins := localInsight("serial", ns).Obj()
		Expect(env.Client.Create(ctx, ins)).To(Succeed())
		seen := watchAdmissions(ns)
		defer seen.stop()
		long, next := oneOp("long", ns).Obj(), oneOp("next", ns).Obj()
		Expect(env.Client.Create(ctx, long)).To(Succeed())
		waitForPhase(long, popv1.PhaseRunning)

		Expect(env.Client.Delete(ctx, ins)).To(Succeed())
		Eventually(func() error { return env.Client.Get(ctx, client.ObjectKeyFromObject(ins), &popv1.Insight{}) },
			framework.Timeout).ShouldNot(Succeed())
		stopManager()
		stopManager = startManager()
		Expect(env.Client.Create(ctx, localInsight("serial", ns).Obj())).To(Succeed())
		Expect(env.Client.Create(ctx, next)).To(Succeed())
		waitForPhase(next, popv1.PhaseQueued)
		Consistently(func(g Gomega) bool {
			return popv1.IsAdmitted(getAgenda(g, next))
		}, 3*time.Second, framework.Interval).Should(BeFalse(), "admitted while %s still runs under capacity 1", long.Name)

		cancelAgenda(long)
		waitForPhase(next, popv1.PhaseSucceeded)
		Expect(seen.maxRunning()).To(Equal(1), "admitted, unfinished Agendas at some watch event")
	})
})
