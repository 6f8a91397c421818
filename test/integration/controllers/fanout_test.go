package controllers_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

// livePods counts, from a watch on the namespace's Pods, how many are live at once (created,
// not yet Succeeded, Failed or deleted) and keeps the most it saw.
type livePods struct {
	mu   sync.Mutex
	live map[string]bool
	most int
	seen int
}

func watchLivePods(ns string) *livePods {
	GinkgoHelper()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: framework.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	w, err := wc.Watch(ctx, &corev1.PodList{}, client.InNamespace(ns))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(w.Stop)
	l := &livePods{live: map[string]bool{}}
	go func() {
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			l.mu.Lock()
			done := pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
			if ev.Type == watch.Deleted || done {
				delete(l.live, pod.Name)
			} else if !l.live[pod.Name] {
				l.live[pod.Name] = true
				l.seen++
			}
			l.most = max(l.most, len(l.live))
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *livePods) counts() (most, seen int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.most, l.seen
}

// segments is a scan output of n segments s0, s1, …
func segments(n int) map[string]any {
	segs := make([]any, n)
	for i := range segs {
		segs[i] = map[string]any{"uri": fmt.Sprintf("s%d", i)}
	}
	return map[string]any{"segments": segs}
}

// fanAgenda is scan (echoing scanOut) -> encode over its segments -> join reading encode.out.
func fanAgenda(name, ns string, scanOut any) *builders.AgendaWrapper {
	return builders.MakeAgenda(name, ns).Op("scan", "echo", scanOut).
		Op("encode", "echo", map[string]any{"seg": "@<item::/uri>", "i": "@<pop.index>"}).ForEach("@<scan.out::/segments>").
		Op("join", "echo", "@<encode.out>")
}

var _ = Describe("forEach fan-out", func() {
	var ns string
	BeforeEach(func() {
		ns = newNamespace("fanout")
		Expect(env.Client.Create(ctx, localInsight("fifo", ns).Obj())).To(Succeed())
	})

	It("runs one generated operation per segment a scan returned, and the join reads their outputs in order", func() {
		ag := fanAgenda("five", ns, segments(5)).Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseSucceeded)
		var want []any
		for i := range 5 {
			name := fmt.Sprintf("encode[%d]", i)
			Expect(opStatus(done, name).State).To(Equal(popv1.OperationSucceeded), name)
			Expect(opStatus(done, name).Attempts).To(Equal(int32(1)), name)
			want = append(want, map[string]any{"seg": fmt.Sprintf("s%d", i), "i": float64(i)})
		}
		Expect(opStatus(done, "encode").State).To(Equal(popv1.OperationSucceeded))
		var joined []any
		Expect(json.Unmarshal([]byte(opStatus(done, "join").Output), &joined)).To(Succeed())
		Expect(joined).To(Equal(want))
		Expect(done.Status.Operations).To(HaveLen(8))
		Expect(podsOf(Default, ag, "encode.3")).NotTo(BeEmpty(), "an item's Pods carry its label encode.3")
		Eventually(func(g Gomega) {
			for _, p := range podsOf(g, ag, "") {
				g.Expect(p.DeletionTimestamp).NotTo(BeNil(), "KeepFailed deletes the succeeded Pods: %s", p.Name)
			}
		}, framework.Timeout, framework.Interval).Should(Succeed())
	})

	It("succeeds an empty fan-out at once: the join reads []", func() {
		ag := fanAgenda("empty", ns, segments(0)).Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseSucceeded)
		Expect(opStatus(done, "encode").Message).To(Equal("fan-out over 0 items"))
		Expect(opStatus(done, "join").Output).To(Equal("[]"))
		Expect(done.Status.Operations).To(HaveLen(3))
	})

	It("retries a failing item, fails the group and the Agenda, and a finally operation reads the phase and the failed names", func() {
		sim.SetScript(func(pod *corev1.Pod) podsim.Behaviour {
			if pod.Labels[popv1.OperationLabel] == "encode.1" {
				return podsim.Behaviour{ExitCode: 1, Message: "bad segment"}
			}
			return podsim.Echo(pod)
		})
		DeferCleanup(func() { sim.SetScript(podsim.Echo) })
		ht := builders.MakeHandlerType("retrying", ns, "img:1").Obj()
		ht.Spec.Retries = &popv1.RetrySpec{Limit: 1, Backoff: &popv1.BackoffSpec{Initial: duration(100 * time.Millisecond)}}
		Expect(env.Client.Create(ctx, ht)).To(Succeed())
		w := fanAgenda("failing", ns, segments(3)).
			Op("report", "echo", map[string]any{"phase": "@<pop.phase>", "failed": "@<pop.failed>"}).FinallyOp()
		w.Spec.Operations[1].Type = "retrying"
		w.Spec.PodCleanup = popv1.KeepAll
		ag := w.Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseFailed)
		Expect(opStatus(done, "encode[1]").State).To(Equal(popv1.OperationFailed))
		Expect(opStatus(done, "encode[1]").Attempts).To(Equal(int32(2)))
		Expect(podsOf(Default, ag, "encode.1")).To(HaveLen(2))
		Expect(opStatus(done, "encode").State).To(Equal(popv1.OperationFailed))
		Expect(opStatus(done, "encode").Message).To(Equal("1 of 3 items failed; encode[1]: handler exited with code 1: bad segment"))
		Expect(opStatus(done, "join").State).To(Equal(popv1.OperationSkipped))
		Expect(opStatus(done, "report").Output).To(MatchJSON(`{"phase":"Failed","failed":["encode","encode[1]"]}`))
	})

	It("cancels a fan-out mid-way: running items' Pods are deleted, every unfinished item Cancelled", func() {
		sim.SetScript(podsim.EchoAfter(time.Hour))
		DeferCleanup(func() { sim.SetScript(podsim.Echo) })
		w := builders.MakeAgenda("cancelled", ns).Parallelism(2).
			Op("encode", "echo", "@<item>").ForEach([]any{1, 2, 3, 4}).Op("join", "echo", "@<encode.out>")
		ag := w.Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		Eventually(func(g Gomega) {
			cur := getAgenda(g, ag)
			g.Expect(opStatus(cur, "encode[1]").State).To(Equal(popv1.OperationExecuting))
		}, framework.Timeout, framework.Interval).Should(Succeed())
		cur := getAgenda(Default, ag)
		cur.Spec.Cancel = true
		Expect(env.Client.Update(ctx, cur)).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseCancelled)
		for _, name := range []string{"encode", "encode[0]", "encode[1]", "encode[2]", "encode[3]", "join"} {
			Expect(opStatus(done, name).State).To(Equal(popv1.OperationCancelled), name)
		}
		Eventually(func(g Gomega) {
			for _, p := range podsOf(g, ag, "") {
				g.Expect(p.DeletionTimestamp).NotTo(BeNil(), p.Name)
			}
		}, framework.Timeout, framework.Interval).Should(Succeed())
	})

	It("skips a fan-out whose when is false, once for the group: no item, no Pod", func() {
		w := builders.MakeAgenda("skipped", ns).Op("scan", "echo", map[string]any{"go": false, "segments": []any{1, 2}}).
			Op("encode", "echo", "@<item>").ForEach("@<scan.out::/segments>").When("ops.scan.output.go").
			Op("after", "echo", "x")
		w.Spec.Operations[2].After = []popv1.Requirement{{Operation: "encode", Outcome: popv1.OutcomeSkipped}}
		ag := w.Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseSucceeded)
		Expect(opStatus(done, "encode").State).To(Equal(popv1.OperationSkipped))
		Expect(opStatus(done, "after").State).To(Equal(popv1.OperationSucceeded))
		Expect(done.Status.Operations).To(HaveLen(3))
		Expect(sim.Started()).NotTo(ContainElement(ContainSubstring("skipped-encode")))
	})

	DescribeTable("a 20-item fan-out never has more live Pods than its bound, counted from a Pod watch",
		func(spec, insight *int32, bound int) {
			if insight != nil {
				Eventually(func(g Gomega) { // the scheduler writes the Insight too: retry a conflict
					var ins popv1.Insight
					g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "fifo"}, &ins)).To(Succeed())
					ins.Spec.DefaultParallelism = insight
					g.Expect(env.Client.Update(ctx, &ins)).To(Succeed())
				}, framework.Timeout, framework.Interval).Should(Succeed())
			}
			runBoundedFanOut(ns, spec, bound)
		},
		Entry("spec.parallelism 3", ptr.To[int32](3), nil, 3),
		Entry("the Insight's defaultParallelism 2", nil, ptr.To[int32](2), 2),
	)
})

// runBoundedFanOut runs a 20-item fan-out in ns with the given spec.parallelism and checks,
// from a watch on the namespace's Pods, that no more than bound were live at once.
func runBoundedFanOut(ns string, parallelism *int32, bound int) {
	GinkgoHelper()
	live := watchLivePods(ns)
	sim.SetScript(podsim.EchoAfter(200 * time.Millisecond))
	DeferCleanup(func() { sim.SetScript(podsim.Echo) })
	items := make([]any, 20)
	for i := range items {
		items[i] = i
	}
	w := builders.MakeAgenda("bounded", ns).Op("encode", "echo", "@<item>").ForEach(items)
	w.Spec.Parallelism = parallelism
	ag := w.Obj()
	Expect(env.Client.Create(ctx, ag)).To(Succeed())
	waitForPhase(ag, popv1.PhaseSucceeded)
	Eventually(func(g Gomega) {
		_, seen := live.counts()
		g.Expect(seen).To(Equal(20))
	}, framework.Timeout, framework.Interval).Should(Succeed())
	most, _ := live.counts()
	Expect(most).To(BeNumerically("<=", bound), "live Pods at once")
	Expect(most).To(BeNumerically(">=", 2), "the items ran concurrently")
}
