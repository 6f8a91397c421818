package scheduler

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

var agendasResource = schema.GroupResource{Group: "pop.dev", Resource: "agendas"}

// TestPipelinedAdmissions: with several admission writes in flight, a refused write frees
// the place it reserved and its Agenda keeps its place in the queue; nothing is ever over
// capacity. Capacity 4 and 4 writes at once: the first pass decides a, b, c, d together.
// The world records accepted admissions as they land, so the writes of one window may come
// in any order; the cases compare windows as sets.
func TestPipelinedAdmissions(t *testing.T) {
	cases := map[string]struct {
		// refuse answers a's (or every) admission write while refusing is on.
		refuse func(key types.NamespacedName) error
		// windows are the expected accepted admissions, window by window (each a set):
		// during the refusals, then after them (and after finishing b, when finishB).
		during, after [][]string
		finishB       bool
	}{
		"a conflict frees a's place and a stays first": {
			refuse: func(key types.NamespacedName) error {
				if key.Name == "a" {
					return apierrors.NewConflict(agendasResource, "a", errors.New("modified"))
				}
				return nil
			},
			// b, c, d were in flight with a; the place a freed waits for a, not e.
			during: [][]string{{"b", "c", "d"}},
			after:  [][]string{{"a"}},
		},
		"a 403 lets the next one take a's place, and a comes first once a place frees": {
			refuse: func(key types.NamespacedName) error {
				if key.Name == "a" {
					return apierrors.NewForbidden(agendasResource, "a", errors.New("denied by policy"))
				}
				return nil
			},
			// e is decided once a's refusal is in: it may land before d.
			during:  [][]string{{"b", "c", "d", "e"}},
			after:   [][]string{{"a"}},
			finishB: true,
		},
		"an outage refuses every write in flight: every place comes back, in order": {
			refuse: func(types.NamespacedName) error { return apierrors.NewServiceUnavailable("etcd is down") },
			during: nil,
			after:  [][]string{{"a", "b", "c", "d"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.writes = 4
			w.addNamespace("team", "acme")
			w.addInsight(localInsight("wide", 4))
			for i, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
				w.addAgenda(n, "team", i)
			}
			refusing := true
			w.refuse = func(key types.NamespacedName) error {
				if refusing {
					return tc.refuse(key)
				}
				return nil
			}
			s := w.scheduler()
			w.advance(s, 10*time.Second)
			checkWindows(t, "during the refusals", tc.during, names(w.admitted))
			refusing = false
			seen := len(w.admitted)
			if tc.finishB {
				w.finish(types.NamespacedName{Namespace: "team", Name: "b"})
			}
			w.advance(s, 31*time.Second) // past the longest backoff
			checkWindows(t, "after the refusals", tc.after, names(w.admitted[seen:]))
			if len(w.overCapacity) > 0 {
				t.Errorf("over capacity: %v", w.overCapacity)
			}
			for _, k := range w.admitted {
				if n := count(w.admitted, k); n != 1 {
					t.Errorf("%s admitted %d times", k.Name, n)
				}
			}
		})
	}
}

// checkWindows compares admissions with consecutive windows, each compared as a set.
func checkWindows(t *testing.T, when string, want [][]string, got []string) {
	t.Helper()
	var gotWindows [][]string
	for _, win := range want {
		n := min(len(win), len(got))
		gotWindows = append(gotWindows, got[:n])
		got = got[n:]
	}
	if len(got) > 0 {
		gotWindows = append(gotWindows, got)
	}
	sorted := cmpopts.SortSlices(func(a, b string) bool { return a < b })
	if diff := cmp.Diff(want, gotWindows, sorted, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("admissions %s, window by window (-want +got):\n%s", when, diff)
	}
}

func count(keys []types.NamespacedName, k types.NamespacedName) int {
	n := 0
	for _, x := range keys {
		if x == k {
			n++
		}
	}
	return n
}

// TestPipelinedAdmissionsUnderRefusals: many Agendas through capacity 5 with 8 writes in
// flight, a third of the admission writes refused (conflicts and 403s in turn), finishes
// interleaved: nothing is ever over capacity at any accepted write, no Agenda is admitted
// twice, and every one is admitted in the end.
func TestPipelinedAdmissionsUnderRefusals(t *testing.T) {
	w := newWorld(t)
	w.writes = 8
	w.addNamespace("team", "acme")
	w.addInsight(localInsight("serial", 5))
	attempt := 0
	w.refuse = func(key types.NamespacedName) error {
		attempt++
		switch attempt % 6 {
		case 1:
			return apierrors.NewConflict(agendasResource, key.Name, errors.New("modified"))
		case 4:
			return apierrors.NewForbidden(agendasResource, key.Name, errors.New("denied"))
		}
		return nil
	}
	s := w.scheduler()
	const n = 60
	for i := range n {
		w.addAgenda(fmt.Sprintf("ag-%02d", i), "team", i)
	}
	done := 0
	for range 400 {
		w.advance(s, 200*time.Millisecond)
		for done < len(w.admitted) {
			w.finish(w.admitted[done])
			done++
		}
		if len(w.admitted) == n {
			break
		}
	}
	if len(w.overCapacity) > 0 {
		t.Errorf("over capacity: %v", w.overCapacity)
	}
	seen := map[types.NamespacedName]bool{}
	for _, k := range w.admitted {
		if seen[k] {
			t.Errorf("%s admitted twice", k)
		}
		seen[k] = true
	}
	if len(seen) != n {
		t.Errorf("%d of %d Agendas admitted after %d attempts", len(seen), n, attempt)
	}
}

// TestNoSecondAdmissionBeforeTheCacheCatchesUp: passes that run before the cache shows
// an admission (its watch event not yet delivered) neither write it again nor give its
// place away.
func TestNoSecondAdmissionBeforeTheCacheCatchesUp(t *testing.T) {
	w := newWorld(t)
	w.writes = 4
	w.addNamespace("team", "acme")
	w.addInsight(localInsight("wide", 2))
	for i, n := range []string{"a", "b", "c"} {
		w.addAgenda(n, "team", i)
	}
	s := w.scheduler()
	w.settle(s)
	held := w.events // the admissions' events, held back
	w.events = nil
	for range 5 {
		s.marks.all() // a full rebuild, the worst case: every Agenda re-read from the stale cache
		s.cycle(t.Context())
	}
	if diff := cmp.Diff([]string{"a", "b"}, names(w.admitted), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("admissions (-want +got):\n%s", diff)
	}
	for _, k := range w.admitted {
		if w.attempts[k] != 1 {
			t.Errorf("%s: %d admission writes, want 1", k.Name, w.attempts[k])
		}
	}
	w.events = append(held, w.events...)
	w.settle(s)
	if len(w.admitted) != 2 {
		t.Errorf("%d admissions once the cache caught up, want 2", len(w.admitted))
	}
}
