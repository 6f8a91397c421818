package chaos

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

const ins = "pop-system/fifo"

func agenda(name string, admitted bool, phase popv1.AgendaPhase) *popv1.Agenda {
	ag := &popv1.Agenda{ObjectMeta: metav1.ObjectMeta{Namespace: "ch00", Name: name, UID: k8stypes.UID("uid-" + name)}}
	ag.Status.Insight, ag.Status.Phase = ins, phase
	st := metav1.ConditionFalse
	if admitted {
		st = metav1.ConditionTrue
	}
	ag.Status.Conditions = []metav1.Condition{{Type: popv1.AgendaAdmitted, Status: st}}
	ag.Status.Operations = []popv1.OperationStatus{{Name: "main", Attempts: 1}}
	return ag
}

func feed(l *Ledger, t watch.EventType, ag *popv1.Agenda) {
	l.Agenda(NewAgendaEvent(t, ag, time.Now()))
}

// A brief overshoot, one admission before another Agenda's end in the stream, is caught
// although it lasts a single event: the check follows the order, it does not sample.
func TestLedgerCatchesABriefOvershoot(t *testing.T) {
	l := NewLedger(map[string]int{ins: 1})
	feed(l, watch.Added, agenda("a", false, popv1.PhaseQueued))
	feed(l, watch.Added, agenda("b", false, popv1.PhaseQueued))
	feed(l, watch.Modified, agenda("a", true, popv1.PhaseRunning))
	feed(l, watch.Modified, agenda("b", true, popv1.PhaseRunning)) // a has not ended yet
	feed(l, watch.Modified, agenda("a", true, popv1.PhaseSucceeded))
	f := l.Check(nil)
	if len(f.Overshoots) != 1 || f.Overshoots[0].Admitted != 2 || f.OK() {
		t.Fatalf("want one overshoot of 2 over capacity 1, got %+v", f.Overshoots)
	}
}

func TestLedgerEndBeforeAdmissionIsNoOvershoot(t *testing.T) {
	l := NewLedger(map[string]int{ins: 1})
	feed(l, watch.Modified, agenda("a", true, popv1.PhaseRunning))
	feed(l, watch.Modified, agenda("a", true, popv1.PhaseSucceeded))
	feed(l, watch.Modified, agenda("b", true, popv1.PhaseRunning))
	feed(l, watch.Deleted, agenda("b", true, popv1.PhaseRunning))
	feed(l, watch.Modified, agenda("c", true, popv1.PhaseRunning))
	if f := l.Check(nil); len(f.Overshoots) != 0 || f.Peak[ins] != 1 {
		t.Fatalf("want no overshoot and a peak of 1, got %+v peak %v", f.Overshoots, f.Peak)
	}
}

func TestLedgerCountsPodsPerAttempt(t *testing.T) {
	l := NewLedger(nil)
	feed(l, watch.Added, agenda("a", true, popv1.PhaseSucceeded))
	pod := PodEvent{UID: "p1", Name: "ch00/a-main-1", AgendaUID: "uid-a", Operation: "main", Attempt: 1}
	l.Pod(pod)
	l.Pod(pod) // the same Pod seen again (an update, a relist) is not a second Pod
	twin := pod
	twin.UID, twin.Name = "p2", "ch00/a-main-1-twin"
	l.Pod(twin)
	third := pod
	third.UID, third.Attempt = "p3", 3
	l.Pod(third)
	f := l.Check([]Expected{{Key: "ch00/a", Kind: "single", Want: popv1.PhaseSucceeded, MaxAttempts: map[string]int{"main": 2}}})
	if len(f.Duplicates) != 1 || !strings.HasPrefix(f.Duplicates[0], "uid-a/main/1") {
		t.Fatalf("want attempt 1 duplicated, got %v", f.Duplicates)
	}
	if len(f.OverAttempts) != 1 {
		t.Fatalf("want attempt 3 over retries+1 = 2, got %v", f.OverAttempts)
	}
	if f.Pods != 3 {
		t.Fatalf("want 3 Pods, got %d", f.Pods)
	}
}

func TestLedgerJudgesFinalStates(t *testing.T) {
	l := NewLedger(nil)
	feed(l, watch.Added, agenda("ok", true, popv1.PhaseSucceeded))
	feed(l, watch.Added, agenda("stuck", true, popv1.PhaseRunning))
	feed(l, watch.Added, agenda("wrong", true, popv1.PhaseFailed))
	feed(l, watch.Added, agenda("gone", true, popv1.PhaseRunning))
	feed(l, watch.Deleted, agenda("gone", true, popv1.PhaseRunning))
	want := func(name string) Expected {
		return Expected{Key: "ch00/" + name, Kind: "single", Want: popv1.PhaseSucceeded}
	}
	f := l.Check([]Expected{want("ok"), want("stuck"), want("wrong"), want("gone"), want("never")})
	if len(f.Stuck) != 1 || len(f.Wrong) != 1 || len(f.Lost) != 2 || f.OK() {
		t.Fatalf("want 1 stuck, 1 wrong, 2 lost; got %+v", f)
	}
	if f.ByKind["single"][popv1.PhaseSucceeded] != 1 {
		t.Fatalf("want one Succeeded, got %v", f.ByKind)
	}
}

func TestLedgerWorkIsTheManagersStatusWrites(t *testing.T) {
	l := NewLedger(nil)
	t0 := time.Now()
	l.Agenda(NewAgendaEvent(watch.Added, agenda("a", false, popv1.PhaseQueued), t0))
	l.Agenda(NewAgendaEvent(watch.Modified, agenda("a", false, popv1.PhaseQueued), t0.Add(time.Second))) // spec-only change
	if w := l.FirstWorkAfter(t0.Add(-time.Millisecond)); !w.IsZero() {
		t.Fatalf("a create and a write without a status change are not the manager's work, got %v", w)
	}
	l.Agenda(NewAgendaEvent(watch.Modified, agenda("a", true, popv1.PhaseRunning), t0.Add(2*time.Second)))
	if w := l.FirstWorkAfter(t0); !w.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("want the admission as the first work, got %v", w)
	}
}

func TestMixKinds(t *testing.T) {
	seen := map[string]int{}
	for i := range 20 {
		k, _ := KindOf(i)
		seen[k]++
	}
	for _, k := range kinds {
		if seen[k.name] != k.share {
			t.Fatalf("kind %s: %d of 20, want %d", k.name, seen[k.name], k.share)
		}
	}
}
