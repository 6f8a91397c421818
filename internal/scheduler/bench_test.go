package scheduler

import (
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"

	"github.com/pop-operator/pop/test/builders"
)

const (
	benchCustomers = 1_000
	benchCapacity  = 100
)

// benchSizes are the pending counts measured: the cost of a cycle should not depend on it.
var benchSizes = []int{10_000, 100_000}

// benchWorld is one Insight of capacity 100 serving 1,000 customers' namespaces, with
// pending Agendas behind the 100 admitted, the scheduler's queues rebuilt.
func benchWorld(b *testing.B, pending int) (*world, *Scheduler) {
	w := newWorld(b)
	w.addInsight(builders.MakeInsight("shared", "pop-system").Capacity(benchCapacity).Obj())
	for c := range benchCustomers {
		w.addNamespace(benchNamespace(c), fmt.Sprintf("customer-%04d", c))
	}
	for i := range pending + benchCapacity {
		w.addAgenda(fmt.Sprintf("ag-%07d", i), benchNamespace(i), i)
	}
	s := w.scheduler()
	w.settle(s)
	if len(w.admitted) != benchCapacity {
		b.Fatalf("%d admitted after the rebuild, want %d", len(w.admitted), benchCapacity)
	}
	w.agendaLists, w.agendaGets = 0, 0
	w.positionWrites = map[types.NamespacedName]int{}
	return w, s
}

func benchNamespace(i int) string { return fmt.Sprintf("ns-%04d", i%benchCustomers) }

// BenchmarkCycle measures one second of a busy Insight: one admitted Agenda finishes, one
// new Agenda arrives, and the cycles that follow (admitting the next, writing the Insight's
// status, reading back the events of both writes) run until the scheduler is idle. "idle"
// is a tick when nothing changed. The figures include the in-memory API server's work
// (decoding the apply patches, deep copies), as the real cache's copies would.
func BenchmarkCycle(b *testing.B) {
	for _, pending := range benchSizes {
		b.Run(fmt.Sprintf("one-finishes-one-arrives/pending=%d", pending), func(b *testing.B) {
			w, s := benchWorld(b, pending)
			done, next := 0, pending+benchCapacity
			b.ReportAllocs()
			for b.Loop() {
				w.finish(w.admitted[done])
				w.addAgenda(fmt.Sprintf("ag-%07d", next), benchNamespace(next), next)
				done, next = done+1, next+1
				w.clock.Step(time.Second)
				w.settle(s)
			}
			reportReads(b, w)
		})
		b.Run(fmt.Sprintf("idle/pending=%d", pending), func(b *testing.B) {
			w, s := benchWorld(b, pending)
			b.ReportAllocs()
			for b.Loop() {
				w.clock.Step(time.Second)
				w.settle(s)
			}
			reportReads(b, w)
		})
	}
}

func reportReads(b *testing.B, w *world) {
	positions := 0
	for _, n := range w.positionWrites {
		positions += n
	}
	b.ReportMetric(float64(positions)/float64(b.N), "position-writes/op")
	b.ReportMetric(float64(w.agendaGets)/float64(b.N), "agenda-reads/op")
	b.ReportMetric(float64(w.agendaLists)/float64(b.N), "agenda-lists/op")
}

// BenchmarkDrain measures draining 1,000 pending Agendas into an Insight with room for all,
// each admission write taking a 10 ms round trip (the API server's time for one status
// patch on this machine, docs/benchmarks.md), one write at a time and with the default
// pipeline. A figure of the code, not of a cluster: make bench measures that.
func BenchmarkDrain(b *testing.B) {
	for _, writes := range []int{1, DefaultAdmissionWrites} {
		b.Run(fmt.Sprintf("writes=%d", writes), func(b *testing.B) {
			var admitted int
			var took time.Duration
			for b.Loop() {
				w := newWorld(b)
				w.writes = writes
				w.addNamespace("team", "acme")
				ins := localInsight("wide", 2000)
				ins.Spec.Paused = true
				w.addInsight(ins)
				for i := range 1000 {
					w.addAgenda(fmt.Sprintf("ag-%04d", i), "team", i)
				}
				s := w.scheduler()
				w.settle(s) // queued, positions written
				w.latency = 10 * time.Millisecond
				w.updateInsight(client.ObjectKeyFromObject(ins), func(s *popv1.InsightSpec) { s.Paused = false })
				start := time.Now()
				w.settle(s)
				took += time.Since(start)
				admitted += len(w.admitted)
			}
			b.ReportMetric(float64(admitted)/took.Seconds(), "admissions/s")
		})
	}
}
