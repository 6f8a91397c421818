package scheduler

import (
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
)

// TestSequenceNumbersArePruned: the arrival numbers the scheduler keeps per Agenda UID go
// away with the Agenda, however it was seen: only finished, re-created under its name,
// deleted while queued.
func TestSequenceNumbersArePruned(t *testing.T) {
	w := newWorld(t)
	w.addNamespace("team", "acme")
	ins := localInsight("serial", 1)
	ins.Spec.Paused = true // everything stays queued
	w.addInsight(ins)
	s := w.scheduler()
	w.settle(s)

	done := w.addAgenda("done-before-seen", "team", 0)
	w.finish(done) // the scheduler reads it only once finished
	w.settle(s)

	again := w.addAgenda("again", "team", 1)
	w.settle(s)
	w.deleteAgenda(again)
	w.addAgenda("again", "team", 2) // a new UID under the same name, before the delete is seen
	w.settle(s)
	w.finish(again)
	w.settle(s)

	gone := w.addAgenda("gone", "team", 3)
	w.settle(s)
	w.deleteAgenda(gone)
	w.settle(s)

	if len(s.seqs) != 0 {
		t.Errorf("%d sequence numbers kept for Agendas finished or gone: %v", len(s.seqs), s.seqs)
	}
}

// TestBackoffIsForgotten: the backoff of a refused Agenda goes when it is admitted or gone.
func TestBackoffIsForgotten(t *testing.T) {
	w := newWorld(t)
	w.addNamespace("team", "acme")
	w.addInsight(localInsight("wide", 2))
	gone := w.addAgenda("gone", "team", 0)
	late := w.addAgenda("late", "team", 1)
	refusing := true
	w.refuse = func(types.NamespacedName) error {
		if refusing {
			return apierrors.NewServiceUnavailable("down")
		}
		return nil
	}
	s := w.scheduler()
	w.advance(s, 5*time.Second)
	if len(s.retries) == 0 {
		t.Fatal("no admission was refused")
	}
	w.deleteAgenda(gone)
	refusing = false
	w.advance(s, 31*time.Second)
	if !w.isAdmitted(late) {
		t.Fatalf("%s not admitted", late)
	}
	if len(s.retries) != 0 || s.failures.NumRequeues(gone) != 0 || s.failures.NumRequeues(late) != 0 {
		t.Errorf("backoff kept: %v, failures %d and %d", s.retries, s.failures.NumRequeues(gone), s.failures.NumRequeues(late))
	}
}
