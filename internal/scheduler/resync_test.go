package scheduler

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// TestStatusWritesDoNotResync: the scheduler's own Insight status writes come back as
// Insight events; they must not make it re-read every Agenda. Each second one Agenda
// finishes and one is admitted: the reads follow those, not the 50 waiting.
func TestStatusWritesDoNotResync(t *testing.T) {
	w := newWorld(t)
	w.addNamespace("team", "acme")
	w.addInsight(localInsight("serial", 1))
	for i := range 50 {
		w.addAgenda(fmt.Sprintf("ag-%02d", i), "team", i)
	}
	s := w.scheduler()
	w.settle(s)
	w.agendaLists, w.agendaGets, w.insightWrites = 0, 0, 0
	w.positionWrites = map[types.NamespacedName]int{}

	const seconds = 5
	for i := range seconds {
		w.finish(w.admitted[i])
		w.clock.Step(time.Second) // the Insight's status may be written again
		w.settle(s)
	}
	if w.insightWrites < seconds {
		t.Fatalf("%d Insight status writes in %d seconds of admissions; the test needs one a second", w.insightWrites, seconds)
	}
	if w.agendaLists != 0 {
		t.Errorf("listed every Agenda %d times", w.agendaLists)
	}
	st := w.insights[types.NamespacedName{Namespace: "team", Name: "serial"}].Status
	if want := t0.Add(6 * time.Second); st.OldestPendingSince == nil || !st.OldestPendingSince.Time.Equal(want) || st.Pending != 44 {
		t.Errorf("status: %d pending, the oldest since %v; want 44, since %v", st.Pending, st.OldestPendingSince, want)
	}
	// Each queue position written reads its Agenda, and its echo once more
	// (TestQueuePositionsWrittenByBucket bounds those writes); the rest follow the
	// completions and admissions.
	positions := 0
	for _, n := range w.positionWrites {
		positions += n
	}
	if max := 4 * seconds; w.agendaGets-2*positions > max {
		t.Errorf("%d Agenda reads (%d for positions) for %d completions and admissions; want at most %d besides positions", w.agendaGets, positions, seconds, max)
	}
}

// TestInsightChangesStillApply: Insight changes that do matter (capacity, matching,
// algorithm, a new Insight) still take effect without a full resync.
func TestInsightChangesStillApply(t *testing.T) {
	serial := types.NamespacedName{Namespace: "team", Name: "serial"}
	cases := map[string]struct {
		insight *popv1.Insight // nil: none until change
		change  func(*world)
		want    []string
	}{
		"capacity raised": {
			insight: localInsight("serial", 1),
			change: func(w *world) {
				w.updateInsight(serial, func(s *popv1.InsightSpec) { c := int32(3); s.Capacity = &c })
			},
			want: []string{"low", "high", "mid"},
		},
		"agendaSelector widened": {
			insight: func() *popv1.Insight {
				ins := localInsight("serial", 3)
				ins.Spec.AgendaSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "gold"}}
				return ins
			}(),
			change: func(w *world) { w.updateInsight(serial, func(s *popv1.InsightSpec) { s.AgendaSelector = nil }) },
			want:   []string{"low", "high", "mid"},
		},
		"Insight created": {
			change: func(w *world) { w.addInsight(localInsight("serial", 3)) },
			want:   []string{"low", "high", "mid"},
		},
		"algorithm changed to Priority and unpaused": {
			insight: func() *popv1.Insight {
				ins := localInsight("serial", 3)
				ins.Spec.Paused = true
				return ins
			}(),
			change: func(w *world) {
				w.updateInsight(serial, func(s *popv1.InsightSpec) { s.Algorithm, s.Paused = popv1.Priority, false })
			},
			want: []string{"high", "mid", "low"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.addNamespace("team", "acme")
			if tc.insight != nil {
				w.addInsight(tc.insight)
			}
			for i, a := range []struct {
				name string
				prio int32
			}{{"low", 1}, {"high", 10}, {"mid", 5}} {
				key := w.addAgenda(a.name, "team", i)
				w.agendas[key].Spec.Priority = a.prio
			}
			s := w.scheduler()
			w.settle(s)
			if len(w.admitted) > 1 {
				t.Fatalf("admitted before the change: %v", w.admitted)
			}
			before := len(w.admitted)
			tc.change(w)
			w.settle(s)
			var got []string
			for _, key := range w.admitted {
				got = append(got, key.Name)
			}
			want := append([]string{}, tc.want...)
			if before == 1 {
				want = append([]string{"low"}, without(want, "low")...)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("admitted %v, want %v", got, want)
			}
		})
	}
}

func without(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// TestIdleWritesNothing: with nothing changing, the scheduler neither reads Agendas nor
// rewrites the Insight's status every second (the echo of its own write is ignored, so it
// must remember what it wrote).
func TestIdleWritesNothing(t *testing.T) {
	w := newWorld(t)
	w.addNamespace("team", "acme")
	w.addInsight(localInsight("serial", 1))
	for i := range 5 {
		w.addAgenda(fmt.Sprintf("ag-%02d", i), "team", i)
	}
	s := w.scheduler()
	w.settle(s)
	w.clock.Step(positionRefresh)
	w.settle(s) // the status and queue positions after the first admissions
	w.agendaLists, w.agendaGets, w.insightWrites = 0, 0, 0

	w.advance(s, 10*time.Second)
	if w.insightWrites != 0 || w.agendaGets != 0 || w.agendaLists != 0 {
		t.Errorf("in 10 idle seconds: %d Insight status writes, %d Agenda reads, %d lists; want none",
			w.insightWrites, w.agendaGets, w.agendaLists)
	}
}

func TestInsightChanged(t *testing.T) {
	base := localInsight("serial", 1)
	base.UID, base.Generation = "uid-1", 3
	cases := map[string]struct {
		mutate func(*popv1.Insight)
		want   bool
	}{
		"status only":           {mutate: func(i *popv1.Insight) { i.Status.Pending, i.ResourceVersion = 7, "99" }},
		"labels only":           {mutate: func(i *popv1.Insight) { i.Labels = map[string]string{"team": "x"} }},
		"spec (new generation)": {mutate: func(i *popv1.Insight) { i.Generation++ }, want: true},
		"deletion started":      {mutate: func(i *popv1.Insight) { now := metav1.Now(); i.DeletionTimestamp = &now }, want: true},
		"another Insight":       {mutate: func(i *popv1.Insight) { i.UID = "uid-2" }, want: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cur := base.DeepCopy()
			tc.mutate(cur)
			if got := insightChanged(base, cur); got != tc.want {
				t.Errorf("insightChanged = %v, want %v", got, tc.want)
			}
		})
	}
}
