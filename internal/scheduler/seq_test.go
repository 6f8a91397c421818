package scheduler

import "testing"

// TestSequenceNumbersArePruned: the arrival numbers the scheduler keeps per Agenda UID go
// away with the Agenda, however it was seen: only finished, re-created under its name,
// deleted while queued.
func TestSequenceNumbersArePruned(t *testing.T) {
	w := newWorld(t)
	w.addNamespace("team", "acme")
	ins := localInsight("serial", "team", 1)
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
