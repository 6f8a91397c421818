package scheduler

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeFence answers Hold with a fixed end, or an error.
type fakeFence struct {
	until time.Time
	err   error
	reads int
}

func (f *fakeFence) Hold(context.Context) (time.Time, error) {
	f.reads++
	return f.until, f.err
}

// TestFenceGatesWrites: a scheduler that may not hold the lease, or whose hold ran out,
// writes nothing; once it holds the lease again it admits what waited, and it reads the
// hold at most once per holdReread.
func TestFenceGatesWrites(t *testing.T) {
	w := newWorld(t)
	w.addNamespace("team", "acme")
	w.addInsight(localInsight("serial", 2))
	w.addAgenda("a", "team", 0)
	w.addAgenda("b", "team", 1)
	fence := &fakeFence{err: fmt.Errorf("%w (%q)", ErrDeposed, "other")}
	s := w.scheduler()
	s.Fence = fence
	w.advance(s, 3*time.Second)
	if len(w.admitted) != 0 || w.insightWrites != 0 {
		t.Fatalf("deposed: %d admissions, %d Insight writes", len(w.admitted), w.insightWrites)
	}
	if fence.reads > 4 {
		t.Errorf("%d hold reads in 3 s of cycles every 100 ms; want one a second", fence.reads)
	}

	fence.err, fence.until = nil, w.clock.Now() // held, but over
	w.advance(s, time.Second)
	if len(w.admitted) != 0 {
		t.Fatalf("hold over: %d admissions", len(w.admitted))
	}

	fence.until = w.clock.Now().Add(time.Minute)
	w.advance(s, 2*time.Second)
	if diff := cmp.Diff([]string{"a", "b"}, names(w.admitted)); diff != "" {
		t.Errorf("admissions once held (-want +got):\n%s", diff)
	}
}
