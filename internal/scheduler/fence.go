package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Fence guards against a deposed leader. Leader election alone does not: a leader that
// stalled (a pause, a partition) can still have a pass in progress, with admissions
// decided on its state, when another replica takes the lease and rebuilds; those
// admissions, landing late, would count against capacity the new leader already gave out.
// Hold says until when this process may write; the scheduler bounds every write of a pass
// by that time and writes nothing when Hold fails.
type Fence interface {
	Hold(ctx context.Context) (time.Time, error)
}

// ErrDeposed is Hold's answer when another process holds the lease.
var ErrDeposed = errors.New("the leader lease is held by another process")

// LeaseFence reads the manager's leader-election Lease. A candidate takes a lease only
// after seeing it unrenewed for its whole duration, and renewTime is written by the holder
// with its own clock; so while holderIdentity is this process, no other can lead before
// renewTime + leaseDuration by this process's clock, less the drift Margin covers. Writes
// bounded by that time end, sent or cancelled, before a successor starts. A request the
// API server received but had not yet committed when its client gave up is not covered:
// the bound is that request's own server-side processing.
type LeaseFence struct {
	// Reader must not be the cache: a cached Lease can show a lease already lost.
	Reader   client.Reader
	Lease    types.NamespacedName
	Identity string
	Margin   time.Duration
}

// Hold returns the end of this process's lease, less the margin.
func (f LeaseFence) Hold(ctx context.Context) (time.Time, error) {
	var l coordinationv1.Lease
	if err := f.Reader.Get(ctx, f.Lease, &l); err != nil {
		return time.Time{}, fmt.Errorf("reading the leader lease: %w", err)
	}
	holder := ""
	if l.Spec.HolderIdentity != nil {
		holder = *l.Spec.HolderIdentity
	}
	if holder != f.Identity {
		return time.Time{}, fmt.Errorf("%w (%q)", ErrDeposed, holder)
	}
	if l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		return time.Time{}, fmt.Errorf("the leader lease %s has no renewTime or duration", f.Lease)
	}
	return l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds)*time.Second - f.Margin), nil
}

// holdReread is how long a hold read is trusted before it is read again. The end it gave
// stays valid (no successor before it), so this bounds only how soon a renewal is seen.
const holdReread = time.Second

// holdReadTimeout bounds one read of the hold: a hung read must not stall the scheduler.
const holdReadTimeout = 5 * time.Second

// fenced returns the context for one pass's writes, ending when the fence's hold does, or
// false when this process may not write.
func (s *Scheduler) fenced(ctx context.Context) (context.Context, context.CancelFunc, bool) {
	if s.Fence == nil {
		return ctx, func() {}, true
	}
	now := s.Clock.Now()
	// Read again after holdReread, or at once when a hold ran out; a failed read waits.
	if now.Sub(s.lastHoldRead) >= holdReread || (!s.heldUntil.IsZero() && !now.Before(s.heldUntil)) {
		hctx, cancel := context.WithTimeout(ctx, holdReadTimeout)
		until, err := s.Fence.Hold(hctx)
		cancel()
		s.lastHoldRead = now
		if err != nil {
			s.heldUntil = time.Time{}
			s.Log.Info("Not admitting: this process may not hold the leader lease", "reason", err.Error())
			return nil, nil, false
		}
		s.heldUntil = until
	}
	left := s.heldUntil.Sub(now)
	if left <= 0 {
		return nil, nil, false
	}
	wctx, cancel := context.WithTimeout(ctx, left)
	return wctx, cancel, true
}
