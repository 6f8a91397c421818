package scheduler_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
)

// serialInsight is a one-place Insight taking the Agendas of its own namespace.
func serialInsight(ns string, algorithm popv1.SchedulingAlgorithm, aging *popv1.PriorityAging) {
	GinkgoHelper()
	ins := builders.MakeInsight("serial", ns).Algorithm(algorithm).Capacity(1).Obj()
	ins.Spec.NamespaceSelector, ins.Spec.Aging = nil, aging
	Expect(env.Client.Create(ctx, ins)).To(Succeed())
}

func customerNamespace(prefix string) string {
	GinkgoHelper()
	ns, err := env.CreateNamespace(ctx, prefix, map[string]string{popv1.CustomerLabel: "acme"})
	Expect(err).NotTo(HaveOccurred())
	return ns
}

var _ = Describe("Admission order through the scheduler", func() {
	It("lets a long-waiting low priority overtake a later higher one by aging, and only with aging", func() {
		stop := startScheduler(nil, nil)
		defer stop()
		aged, plain := customerNamespace("aged"), customerNamespace("plain")
		serialInsight(aged, popv1.Priority, &popv1.PriorityAging{Interval: metav1.Duration{Duration: time.Second}, Step: 1})
		serialInsight(plain, popv1.Priority, nil)
		logs := map[string]*admissionLog{aged: watchAdmissions(aged), plain: watchAdmissions(plain)}
		firsts := map[string]*popv1.Agenda{}
		for _, ns := range []string{aged, plain} {
			firsts[ns] = newAgenda("first", ns, 0)
			waitFor(firsts[ns], isAdmitted)
			newAgenda("old", ns, 0)
		}
		// young comes 4 s later with priority 2: aged by 1 a second, old outranks it by
		// about 2 when the place frees.
		time.Sleep(4 * time.Second)
		for _, ns := range []string{aged, plain} {
			newAgenda("young", ns, 2)
		}
		for _, ns := range []string{aged, plain} {
			finish(firsts[ns])
		}
		Eventually(func() int { return len(logs[aged].admissions()) + len(logs[plain].admissions()) }, timeout).Should(Equal(4))
		Expect(logs[aged].admissions()).To(Equal([]string{"first", "old"}), "with aging")
		Expect(logs[plain].admissions()).To(Equal([]string{"first", "young"}), "without aging")
		for _, l := range logs {
			l.check(1)
			l.stop()
		}
	})

	It("admits a rerun again, once, through the Agenda controller and the scheduler", func() {
		stop := startControllers()
		defer stop()
		ns := customerNamespace("rerun")
		serialInsight(ns, popv1.FIFO, nil)
		Expect(env.Client.Create(ctx, builders.MakeHandlerType("echo", ns, "img").Obj())).To(Succeed())
		log := watchAdmissions(ns)
		defer log.stop()
		one := builders.MakeAgenda("one", ns).Op("op", "echo").Obj()
		Expect(env.Client.Create(ctx, one)).To(Succeed())
		waitFor(one, succeeded)

		Eventually(func(g Gomega) {
			cur := get(one)
			cur.Spec.Rerun = &popv1.RerunSpec{ID: "again", Mode: popv1.RerunAll}
			g.Expect(env.Client.Update(ctx, cur)).To(Succeed())
		}, timeout).Should(Succeed())
		two := builders.MakeAgenda("two", ns).Op("op", "echo").Obj()
		Expect(env.Client.Create(ctx, two)).To(Succeed())
		waitFor(one, func(ag *popv1.Agenda) bool { return ag.Status.ObservedRerunID == "again" && succeeded(ag) })
		waitFor(two, succeeded)
		Expect(log.admissions()).To(ConsistOf("one", "one", "two"), "%s", log)
		log.check(1, "one")
		for _, ag := range []*popv1.Agenda{one, two} { // the admission removed any queue position
			st := get(ag).Status
			Expect(st.QueuePosition).To(BeNil(), "%s", ag.Name)
			Expect(st.EstimatedAdmissionTime).To(BeNil(), "%s", ag.Name)
		}
	})
})

func succeeded(ag *popv1.Agenda) bool {
	return meta.IsStatusConditionTrue(ag.Status.Conditions, popv1.AgendaSucceeded)
}
