package scheduler

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// TestAdmissionDecisions: which Agendas a scheduler admits, in which order, from a world
// without an API server. Each case builds the world, lets the scheduler settle, acts, and
// compares the whole order of accepted admissions.
func TestAdmissionDecisions(t *testing.T) {
	serial := types.NamespacedName{Namespace: "team", Name: "serial"}
	cases := map[string]struct {
		algorithm popv1.SchedulingAlgorithm
		capacity  int32
		agendas   []string // created one second apart, in this order
		priority  map[string]int32
		// act runs after the first settle; finishing the head frees a place.
		act  func(w *world, s *Scheduler) *Scheduler
		want []string
	}{
		"capacity bounds admissions": {
			capacity: 2, agendas: []string{"a", "b", "c", "d"},
			want: []string{"a", "b"},
		},
		"FIFO: a freed place goes to the oldest": {
			capacity: 1, agendas: []string{"a", "b", "c"},
			act:  func(w *world, s *Scheduler) *Scheduler { w.finish(w.admitted[0]); return s },
			want: []string{"a", "b"},
		},
		"Priority: a freed place goes to the highest": {
			algorithm: popv1.Priority, capacity: 1, agendas: []string{"a", "low", "high"},
			priority: map[string]int32{"a": 9, "low": 1, "high": 5},
			act:      func(w *world, s *Scheduler) *Scheduler { w.finish(w.admitted[0]); return s },
			want:     []string{"a", "high"},
		},
		"a conflict keeps the head first": {
			capacity: 1, agendas: []string{"a", "b", "c"},
			act: func(w *world, s *Scheduler) *Scheduler {
				refused := false
				w.refuse = func(key types.NamespacedName) error {
					if key.Name == "b" && !refused {
						refused = true
						return apierrors.NewConflict(schema.GroupResource{Group: "pop.dev", Resource: "agendas"}, "b", errors.New("modified"))
					}
					return nil
				}
				w.finish(w.admitted[0])
				return s
			},
			want: []string{"a", "b"},
		},
		"a deleted Insight admits nothing more": {
			capacity: 1, agendas: []string{"a", "b"},
			act: func(w *world, s *Scheduler) *Scheduler {
				w.deleteInsight(serial)
				w.finish(w.admitted[0])
				return s
			},
			want: []string{"a"},
		},
		"a restarted scheduler counts what runs": {
			capacity: 2, agendas: []string{"a", "b", "c"},
			act:  func(w *world, _ *Scheduler) *Scheduler { return w.scheduler() },
			want: []string{"a", "b"},
		},
		"a restarted scheduler fills a place freed while it was down": {
			capacity: 2, agendas: []string{"a", "b", "c", "d"},
			act: func(w *world, _ *Scheduler) *Scheduler {
				w.finish(w.admitted[1])
				return w.scheduler()
			},
			want: []string{"a", "b", "c"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.addNamespace("team", "acme")
			ins := localInsight("serial", tc.capacity)
			ins.Spec.Algorithm = tc.algorithm
			w.addInsight(ins)
			for i, n := range tc.agendas {
				key := w.addAgenda(n, "team", i)
				w.agendas[key].Spec.Priority = tc.priority[n]
			}
			s := w.scheduler()
			w.settle(s)
			if tc.act != nil {
				s = tc.act(w, s)
			}
			w.advance(s, time.Second) // past any admission backoff
			if diff := cmp.Diff(tc.want, names(w.admitted)); diff != "" {
				t.Errorf("admissions (-want +got):\n%s", diff)
			}
			if len(w.overCapacity) > 0 {
				t.Errorf("over capacity: %v", w.overCapacity)
			}
		})
	}
}

func names(keys []types.NamespacedName) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k.Name)
	}
	return out
}

// TestEveryAgendaAdmittedOnce: however finishes and arrivals interleave, no Agenda is
// admitted twice, and the number running never exceeds capacity at any write.
func TestEveryAgendaAdmittedOnce(t *testing.T) {
	w := newWorld(t)
	w.writes = 8 // writes overlap: each admission is still counted at its decision
	w.addNamespace("team", "acme")
	w.addInsight(localInsight("serial", 3))
	s := w.scheduler()
	done := 0
	for i := range 60 { // Agendas arrive twice as fast as they finish: a queue builds up
		w.addAgenda(fmt.Sprintf("ag-%02d", i), "team", i)
		if i%2 == 1 && done < len(w.admitted) {
			w.finish(w.admitted[done])
			done++
		}
		w.clock.Step(time.Second) // position passes run too, rewriting queued Agendas
		w.settle(s)
	}
	seen := map[types.NamespacedName]bool{}
	for _, k := range w.admitted {
		if seen[k] {
			t.Errorf("%s admitted twice: %v", k, names(w.admitted))
		}
		seen[k] = true
	}
	if len(w.overCapacity) > 0 {
		t.Errorf("over capacity: %v", w.overCapacity)
	}
}
