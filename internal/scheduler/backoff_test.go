package scheduler

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// advance lets d of fake time pass, with a cycle every 100 ms: more often than Start's loop
// runs when nothing happens, so only the scheduler's own backoff limits its attempts.
func (w *world) advance(s *Scheduler, d time.Duration) {
	w.t.Helper()
	for end := w.clock.Now().Add(d); w.clock.Now().Before(end); w.clock.Step(100 * time.Millisecond) {
		w.settle(s)
	}
	w.settle(s)
}

// TestAdmissionFailureBacksOff: a refused admission is retried after a growing delay, not
// at once. A refusal that says nothing against the Agenda (an outage, a conflict) keeps the
// others behind it; one against the Agenda (403, 422) lets them pass meanwhile. Either way
// the refused Agenda stays first in its queue and is admitted once the refusal ends.
func TestAdmissionFailureBacksOff(t *testing.T) {
	agendas := schema.GroupResource{Group: "pop.dev", Resource: "agendas"}
	cases := map[string]struct {
		err error
		// holdsQueue: the refusal is not the Agenda's fault, so nothing overtakes it.
		holdsQueue bool
	}{
		"forbidden": {err: apierrors.NewForbidden(agendas, "first", errors.New("denied by policy"))},
		"invalid": {err: apierrors.NewInvalid(schema.GroupKind{Group: "pop.dev", Kind: "Agenda"}, "first",
			field.ErrorList{field.TooLong(field.NewPath("status", "conditions"), "", 10)})},
		"unavailable":       {err: apierrors.NewServiceUnavailable("etcd is down"), holdsQueue: true},
		"transport failure": {err: errors.New("dial tcp 10.0.0.1:443: connect: connection refused"), holdsQueue: true},
		"conflict":          {err: apierrors.NewConflict(agendas, "first", errors.New("modified")), holdsQueue: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.addNamespace("team", "acme")
			w.addInsight(localInsight("wide", 3))
			first := w.addAgenda("first", "team", 0)
			second := w.addAgenda("second", "team", 1)
			third := w.addAgenda("third", "team", 2)
			refusing := true
			w.refuse = func(key types.NamespacedName) error {
				if refusing && key == first {
					return tc.err
				}
				return nil
			}
			s := w.scheduler()

			w.advance(s, time.Minute)
			t.Logf("%d admission attempts in a minute of refusals", w.attempts[first])
			if n := w.attempts[first]; n < 3 || n > 15 {
				t.Errorf("%d admission attempts in a minute of refusals; want a backoff (3 to 15)", n)
			}
			wantDuring := []types.NamespacedName{second, third}
			if tc.holdsQueue {
				wantDuring = nil
			}
			if diff := cmp.Diff(wantDuring, w.admitted); diff != "" {
				t.Errorf("admissions during the refusals (-want +got):\n%s", diff)
			}
			if head := w.insights[types.NamespacedName{Namespace: "team", Name: "wide"}].Status.Head; len(head) == 0 || head[0].Name != "first" {
				t.Errorf("the Insight's head during the refusals is %+v, want first at position 1", head)
			}

			refusing = false
			w.advance(s, 31*time.Second) // past the longest backoff
			want := []types.NamespacedName{first, second, third}
			if !tc.holdsQueue {
				want = []types.NamespacedName{second, third, first}
			}
			if diff := cmp.Diff(want, w.admitted); diff != "" {
				t.Errorf("admissions (-want +got):\n%s", diff)
			}
		})
	}
}
