package scheduler

import (
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// TestQueuePositionsWrittenByBucket: pending Agendas carry their queue position and an
// expected admission time; the position is rewritten only when it enters another bucket,
// so a long queue costs a few writes per Agenda, not one per admission ahead of it.
func TestQueuePositionsWrittenByBucket(t *testing.T) {
	const pending, capacity, seconds = 120, 2, 40
	w := newWorld(t)
	w.addNamespace("team", "acme")
	w.addInsight(localInsight("serial", capacity))
	keys := make([]types.NamespacedName, pending+capacity)
	for i := range keys {
		keys[i] = w.addAgenda(fmt.Sprintf("ag-%03d", i), "team", i)
	}
	s := w.scheduler()
	w.settle(s)
	for sec := range seconds { // two finish and two are admitted each second
		for i := range capacity {
			w.finish(w.admitted[sec*capacity+i])
		}
		w.clock.Step(time.Second)
		w.settle(s)
	}
	w.clock.Step(positionRefresh)
	w.settle(s)

	admitted := capacity * (seconds + 1)
	writes := checkPositions(t, w, keys[admitted:], capacity)
	for _, key := range keys[:admitted] {
		if st := w.agendas[key].Status; st.QueuePosition != nil || st.EstimatedAdmissionTime != nil {
			t.Errorf("%s admitted but still shows position %d", key.Name, *st.QueuePosition)
		}
	}
	// Unbucketed, each Agenda left would be rewritten at every admission ahead of it.
	moves := (admitted - capacity) * (pending + capacity - admitted)
	t.Logf("%d position writes for %d waiting Agendas over %d seconds (one per move would be %d)", writes, pending+capacity-admitted, seconds, moves)
	// Each Agenda's first position comes with the write that queues it; the passes' own
	// writes stay within their budget.
	passWrites := -len(keys)
	for _, n := range w.positionWrites {
		passWrites += n
	}
	if passes := seconds/int(positionRefresh/time.Second) + 2; passWrites > positionBudget*passes {
		t.Errorf("%d position writes in %d passes; the budget is %d a pass", passWrites, passes, positionBudget)
	}
	if writes*5 > moves {
		t.Errorf("%d position writes; the buckets should keep them below a fifth of %d moves", writes, moves)
	}
}

// checkPositions checks that waiting Agendas, in queue order, show a position in the
// bucket of their place and an expected admission near place/rate; it returns their
// position writes.
func checkPositions(t *testing.T, w *world, waiting []types.NamespacedName, rate int) int {
	t.Helper()
	writes := 0
	for i, key := range waiting {
		want := int32(i + 1)
		st := w.agendas[key].Status
		if st.QueuePosition == nil || bucket(*st.QueuePosition) != bucket(want) {
			t.Fatalf("%s: position %v, want %d (bucket %d)", key.Name, st.QueuePosition, want, bucket(want))
		}
		if st.EstimatedAdmissionTime == nil || st.PositionTime == nil {
			t.Fatalf("%s: no expected admission", key.Name)
		}
		// Times in the API have whole seconds.
		if got, near := st.EstimatedAdmissionTime.Sub(st.PositionTime.Time), time.Duration(want)*time.Second/time.Duration(rate); got < near/2-time.Second || got > 2*near+time.Second {
			t.Errorf("%s at %d: expected in %v, want about %v", key.Name, want, got, near)
		}
		writes += w.positionWrites[key]
	}
	return writes
}

func TestBucket(t *testing.T) {
	for p, want := range map[int32]int32{1: 1, 9: 9, 10: 10, 19: 10, 20: 20, 99: 90, 100: 100, 199: 100, 250: 200, 1234: 1000, 99999: 90000} {
		if got := bucket(p); got != want {
			t.Errorf("bucket(%d) = %d, want %d", p, got, want)
		}
	}
}
