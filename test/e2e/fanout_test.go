package e2e

import (
	"fmt"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

// itemPods counts, from a watch on a namespace's Pods, the Pods of a fan-out's items (label
// pop.dev/operation=<group>.<i>) that are live at once: created, not yet Succeeded, Failed or
// deleted.
type itemPods struct {
	mu         sync.Mutex
	live, seen map[string]bool
	most       int
}

func watchItemPods(ns, group string) *itemPods {
	GinkgoHelper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfigPath)
	Expect(err).NotTo(HaveOccurred())
	wc, err := client.NewWithWatch(cfg, client.Options{Scheme: framework.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	w, err := wc.Watch(ctx, &corev1.PodList{}, client.InNamespace(ns))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(w.Stop)
	p := &itemPods{live: map[string]bool{}, seen: map[string]bool{}}
	go func() {
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok || !strings.HasPrefix(pod.Labels[popv1.OperationLabel], group+".") {
				continue
			}
			p.mu.Lock()
			if ev.Type == watch.Deleted || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
				delete(p.live, pod.Name)
			} else {
				p.live[pod.Name], p.seen[pod.Name] = true, true
			}
			p.most = max(p.most, len(p.live))
			p.mu.Unlock()
		}
	}()
	return p
}

func (p *itemPods) counts() (most, seen int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.most, len(p.seen)
}

var _ = Describe("Real Pods: fan-out", func() {
	It("fans a scan's segments out to encode Pods within parallelism, joins their outputs in order, skips a when-false step and gives finally the phase", func() {
		const n, parallelism = 5, 2
		ns := newNamespace("fanout", 5)
		pods := watchItemPods(ns, "encode")
		segs := make([]any, n)
		var want []string
		for i := range segs {
			segs[i] = map[string]any{"uri": fmt.Sprintf("s3://media/seg-%d.ts", i)}
			want = append(want, fmt.Sprintf(`{"seg":"s3://media/seg-%d.ts","i":%d}`, i, i))
		}
		w := builders.MakeAgenda("segments", ns).Parallelism(parallelism).
			Op("scan", "sample", map[string]any{"resultPayload": map[string]any{"segments": segs}}).
			Op("encode", "sample", map[string]any{"actions": sleepFor(1500)["actions"],
				"resultPayload": map[string]any{"seg": "@<item::/uri>", "i": "@<pop.index>"}}).ForEach("@<scan.out::/segments>").
			Op("join", "echo", "@<encode.out>").
			Op("notify", "echo", "many segments").When("size(ops.scan.output.segments) > 10").
			Op("report", "echo", map[string]any{"phase": "@<pop.phase>", "failed": "@<pop.failed>"}).FinallyOp()
		ag := w.Obj()
		Expect(k8s.Create(ctx, ag)).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseSucceeded, popv1.PhaseFailed)
		Expect(done.Status.Phase).To(Equal(popv1.PhaseSucceeded))
		for i := range n {
			Expect(opStatus(done, fmt.Sprintf("encode[%d]", i)).State).To(Equal(popv1.OperationSucceeded))
		}
		Expect(opStatus(done, "encode").State).To(Equal(popv1.OperationSucceeded))
		Expect(opStatus(done, "join").Output).To(MatchJSON("[" + strings.Join(want, ",") + "]"))
		Expect(opStatus(done, "notify").State).To(Equal(popv1.OperationSkipped))
		Expect(opStatus(done, "report").Output).To(MatchJSON(`{"phase":"Succeeded","failed":[]}`))
		Eventually(func(g Gomega) {
			_, seen := pods.counts()
			g.Expect(seen).To(Equal(n))
		}, timeout, interval).Should(Succeed())
		most, _ := pods.counts()
		Expect(most).To(Equal(parallelism), "encode Pods live at once, from the Pod watch")
	})
})
