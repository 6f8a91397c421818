package controllers_test

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/podspec"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

// localInsight is an Insight that serves only its own namespace, so that tests sharing
// the control plane do not catch each other's Agendas.
func localInsight(name, ns string) *builders.InsightWrapper {
	w := builders.MakeInsight(name, ns)
	w.Spec.NamespaceSelector = nil
	return w
}

// startOrder lists the Agendas of ns in the order their first Pod started: the Pod of
// attempt 1 of their operation "op", named as the controller names it. Every other Pod started
// in ns is returned in others (an Agenda that ran twice, or something else).
func startOrder(ns string) []string {
	order, _ := startedPods(ns)
	return order
}

func startedPods(ns string) (order, others []string) {
	GinkgoHelper()
	var list popv1.AgendaList
	Expect(env.Client.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	agendaOf := map[string]string{}
	for i := range list.Items {
		agendaOf[ns+"/"+podspec.Name(&list.Items[i], "op", 1)] = list.Items[i].Name
	}
	seen := map[string]bool{}
	for _, p := range sim.Started() {
		agenda, first := agendaOf[p]
		switch {
		case first && !seen[agenda]:
			seen[agenda] = true
			order = append(order, agenda)
		case !first && strings.HasPrefix(p, ns+"/"):
			others = append(others, p)
		}
	}
	return order, others
}

// oneOp is an Agenda of one echo operation named "op".
func oneOp(name, ns string) *builders.AgendaWrapper {
	return builders.MakeAgenda(name, ns).Op("op", "echo", name)
}

// admittedNow counts the Agendas of ns admitted and not finished.
func admittedNow(g Gomega, ns string) int {
	var list popv1.AgendaList
	g.Expect(env.Client.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	n := 0
	for _, ag := range list.Items {
		if popv1.IsRunning(&ag) {
			n++
		}
	}
	return n
}

func setInsight(key client.ObjectKey, mutate func(*popv1.InsightSpec)) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		var ins popv1.Insight
		g.Expect(env.Client.Get(ctx, key, &ins)).To(Succeed())
		mutate(&ins.Spec)
		g.Expect(env.Client.Update(ctx, &ins)).To(Succeed())
	}, framework.Timeout).Should(Succeed())
}

var _ = Describe("Scheduler", func() {
	var ns string
	BeforeEach(func() {
		ns = newNamespace("sched")
		sim.SetScript(podsim.Echo)
	})

	It("admits FIFO in order of arrival, one at a time at capacity 1", func() {
		sim.SetScript(podsim.EchoAfter(150 * time.Millisecond))
		Expect(env.Client.Create(ctx, localInsight("fifo", ns).Obj())).To(Succeed())
		names := []string{"first", "second", "third", "fourth", "fifth"}
		for _, n := range names {
			Expect(env.Client.Create(ctx, oneOp(n, ns).Obj())).To(Succeed())
		}
		for _, n := range names {
			waitForPhase(oneOp(n, ns).Obj(), popv1.PhaseSucceeded)
		}
		Expect(startOrder(ns)).To(Equal(names))
	})

	It("admits by Priority, FIFO within a priority", func() {
		sim.SetScript(podsim.EchoAfter(100 * time.Millisecond))
		ins := localInsight("prio", ns).Algorithm(popv1.Priority).Paused(true).Obj()
		Expect(env.Client.Create(ctx, ins)).To(Succeed())
		for _, a := range []struct {
			name string
			prio int32
		}{{"low", 1}, {"high-a", 10}, {"mid", 5}, {"high-b", 10}, {"lowest", -3}} {
			Expect(env.Client.Create(ctx, oneOp(a.name, ns).Priority(a.prio).Obj())).To(Succeed())
		}
		By("queueing while paused, with positions in the Insight's status")
		Eventually(func(g Gomega) {
			var cur popv1.Insight
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ins), &cur)).To(Succeed())
			g.Expect(cur.Status.Pending).To(Equal(int32(5)))
			g.Expect(cur.Status.Head).To(HaveLen(5))
			g.Expect(cur.Status.Head[0]).To(And(HaveField("Name", "high-a"), HaveField("Position", int32(1))))
			g.Expect(meta.IsStatusConditionTrue(cur.Status.Conditions, popv1.InsightPausedCondition)).To(BeTrue())
		}, framework.Timeout, framework.Interval).Should(Succeed())
		Consistently(func(g Gomega) int { return admittedNow(g, ns) }, time.Second, 100*time.Millisecond).Should(BeZero())
		waitForPhase(oneOp("mid", ns).Obj(), popv1.PhaseQueued)

		setInsight(client.ObjectKeyFromObject(ins), func(s *popv1.InsightSpec) { s.Paused = false })
		waitForPhase(oneOp("lowest", ns).Obj(), popv1.PhaseSucceeded)
		Expect(startOrder(ns)).To(Equal([]string{"high-a", "high-b", "mid", "low", "lowest"}))
	})

	It("never exceeds capacity while 200 Agendas flow through an Insight of capacity 5", func() {
		sim.SetScript(podsim.EchoAfter(30 * time.Millisecond))
		Expect(env.Client.Create(ctx, localInsight("narrow", ns).Capacity(5).Obj())).To(Succeed())
		const total = 200
		for i := 0; i < total; i++ {
			Expect(env.Client.Create(ctx, oneOp(fmt.Sprintf("ag-%03d", i), ns).Obj())).To(Succeed())
		}
		maxSeen := 0
		Eventually(func(g Gomega) {
			n := admittedNow(g, ns)
			maxSeen = max(maxSeen, n)
			g.Expect(n).To(BeNumerically("<=", 5), "over capacity")
			var list popv1.AgendaList
			g.Expect(env.Client.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			done := 0
			for _, ag := range list.Items {
				if ag.Status.Phase == popv1.PhaseSucceeded {
					done++
				}
			}
			g.Expect(done).To(Equal(total))
		}, 3*time.Minute, 20*time.Millisecond).Should(Succeed())
		AddReportEntry("maximum concurrently admitted", maxSeen)
		GinkgoWriter.Printf("maximum concurrently admitted: %d of capacity 5\n", maxSeen)
		Expect(maxSeen).To(BeNumerically(">", 1), "the test never saw concurrency")
		Expect(maxSeen).To(BeNumerically("<=", 5))
	})

	It("follows capacity lowered and raised at runtime, preempting nothing", func() {
		sim.SetScript(podsim.EchoAfter(2 * time.Second))
		ins := localInsight("elastic", ns).Capacity(3).Obj()
		Expect(env.Client.Create(ctx, ins)).To(Succeed())
		for i := 0; i < 8; i++ {
			Expect(env.Client.Create(ctx, oneOp(fmt.Sprintf("e%d", i), ns).Obj())).To(Succeed())
		}
		Eventually(func(g Gomega) int { return admittedNow(g, ns) }, framework.Timeout, framework.Interval).Should(Equal(3))

		By("lowering capacity to 1: the 3 running go on, none is added until usage falls below 1")
		setInsight(client.ObjectKeyFromObject(ins), func(s *popv1.InsightSpec) { s.Capacity = ptr.To[int32](1) })
		Consistently(func(g Gomega) int { return admittedNow(g, ns) }, time.Second, 50*time.Millisecond).Should(BeNumerically("<=", 3))
		Eventually(func(g Gomega) int { return admittedNow(g, ns) }, framework.Timeout, framework.Interval).Should(Equal(1))

		By("raising capacity to 5")
		setInsight(client.ObjectKeyFromObject(ins), func(s *popv1.InsightSpec) { s.Capacity = ptr.To[int32](5) })
		Eventually(func(g Gomega) int { return admittedNow(g, ns) }, framework.Timeout, framework.Interval).Should(Equal(5))
		waitAllSucceeded(ns, time.Minute)
	})

	It("admits nothing twice and nothing past capacity across a scheduler restart", func() {
		sim.SetScript(podsim.EchoAfter(100 * time.Millisecond))
		Expect(env.Client.Create(ctx, localInsight("steady", ns).Capacity(2).Obj())).To(Succeed())
		for i := 0; i < 20; i++ {
			Expect(env.Client.Create(ctx, oneOp(fmt.Sprintf("r%02d", i), ns).Obj())).To(Succeed())
		}
		Eventually(func(g Gomega) int { return admittedNow(g, ns) }, framework.Timeout, 10*time.Millisecond).Should(Equal(2))
		stopManager()
		stopManager = startManager()
		Eventually(func(g Gomega) {
			g.Expect(admittedNow(g, ns)).To(BeNumerically("<=", 2))
			for i := 0; i < 20; i++ {
				g.Expect(getAgenda(g, oneOp(fmt.Sprintf("r%02d", i), ns).Obj()).Status.Phase).To(Equal(popv1.PhaseSucceeded))
			}
		}, time.Minute, 20*time.Millisecond).Should(Succeed())
		order, others := startedPods(ns)
		Expect(order).To(HaveLen(20))
		Expect(others).To(BeEmpty(), "an Agenda ran twice")
	})

	It("says when no Insight matches, and a default Insight then takes the Agenda", func() {
		ag := oneOp("lonely", ns).Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		Eventually(func(g Gomega) {
			c := meta.FindStatusCondition(getAgenda(g, ag).Status.Conditions, popv1.AgendaQueued)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(popv1.ReasonNoMatchingInsight))
		}, framework.Timeout, framework.Interval).Should(Succeed())

		catchAll := localInsight("catch-all", ns).Obj()
		catchAll.Spec.Default = true
		Expect(env.Client.Create(ctx, catchAll)).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseSucceeded)
		Expect(done.Status.Insight).To(Equal(ns + "/catch-all"))
	})

	It("gives admitted Agendas' Pods the Insight's priorityClassName", func() {
		pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "pop-test-high"}, Value: 1000}
		Expect(client.IgnoreAlreadyExists(env.Client.Create(ctx, pc))).To(Succeed())
		sim.SetScript(podsim.EchoAfter(time.Hour))
		ins := localInsight("vip", ns).Obj()
		ins.Spec.PriorityClassName = "pop-test-high"
		Expect(env.Client.Create(ctx, ins)).To(Succeed())
		ag := oneOp("vip-work", ns).Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		Eventually(func(g Gomega) {
			pods := podsOf(g, ag, "op")
			g.Expect(pods).To(HaveLen(1))
			g.Expect(pods[0].Spec.PriorityClassName).To(Equal("pop-test-high"))
		}, framework.Timeout, framework.Interval).Should(Succeed())
	})

	It("shares capacity between three customers by weight", func() {
		sim.SetScript(podsim.EchoAfter(100 * time.Millisecond))
		lane := "fair-" + ns
		weights := map[string]int32{"c1-" + ns: 1, "c2-" + ns: 2, "c3-" + ns: 3}
		ins := builders.MakeInsight("fair", ns).Algorithm(popv1.Fairness).Capacity(6).Obj()
		ins.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"lane": lane}}
		for c, w := range weights {
			ins.Spec.CustomerWeights = append(ins.Spec.CustomerWeights, popv1.CustomerWeight{Customer: c, Weight: w})
		}
		Expect(env.Client.Create(ctx, ins)).To(Succeed())
		namespaces := map[string]string{}
		for c := range weights {
			cns, err := env.CreateNamespace(ctx, "cust", map[string]string{popv1.CustomerLabel: c, "lane": lane})
			Expect(err).NotTo(HaveOccurred())
			Expect(env.Client.Create(ctx, builders.MakeHandlerType("echo", cns, "img").Obj())).To(Succeed())
			namespaces[c] = cns
		}
		// A paused start lets every customer's backlog queue up before the first admission.
		setInsight(client.ObjectKeyFromObject(ins), func(s *popv1.InsightSpec) { s.Paused = true })
		for i := 0; i < 24; i++ {
			for _, cns := range namespaces {
				Expect(env.Client.Create(ctx, oneOp(fmt.Sprintf("w%02d", i), cns).Obj())).To(Succeed())
			}
		}
		Eventually(func(g Gomega) int32 {
			var cur popv1.Insight
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ins), &cur)).To(Succeed())
			return cur.Status.Pending
		}, framework.Timeout, framework.Interval).Should(Equal(int32(72)))
		admissions := recordAdmissions()
		setInsight(client.ObjectKeyFromObject(ins), func(s *popv1.InsightSpec) { s.Paused = false })

		// Fairness shares what runs: while every customer still has a backlog, none runs
		// more than its weighted share of the 6 places (1, 2, 3), and each reaches it. The
		// running counts are replayed from the API's write order of admissions and ends.
		Eventually(func() int { return admissions.endedIn(namespaces) }, time.Minute, 50*time.Millisecond).Should(Equal(72))
		customerOf := func(key string) string {
			for c, cns := range namespaces {
				if strings.HasPrefix(key, cns+"/") {
					return c
				}
			}
			return ""
		}
		running, admittedSoFar, most := map[string]int{}, map[string]int{}, map[string]int{}
		for _, ev := range admissions.sequence() {
			c := customerOf(ev.key)
			if c == "" {
				continue
			}
			if ev.ended {
				running[c]--
				continue
			}
			running[c]++
			admittedSoFar[c]++
			most[c] = max(most[c], running[c])
			if admittedSoFar[c] == 24 {
				break // one backlog is empty: the others may take its places now
			}
		}
		GinkgoWriter.Printf("most running at once per customer while all had a backlog: %v (weights %v)\n", most, weights)
		for c, w := range weights {
			Expect(most[c]).To(Equal(int(w)), "customer %s: %v", c, most)
		}
		for _, cns := range namespaces {
			waitAllSucceeded(cns, time.Minute)
		}
	})
})
