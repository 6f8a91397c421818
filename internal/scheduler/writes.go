package scheduler

import (
	"context"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/queue"
)

// DefaultAdmissionWrites is how many admission writes the scheduler keeps in flight when
// Options.AdmissionWrites is not set. One write is one round trip to the API server
// (10–30 ms on a loaded server): written one after another they capped admission near
// 40/s (docs/benchmarks.md); 16 at once stay well under the manager's client QPS (500).
const DefaultAdmissionWrites = 16

// admissionWrite is one admission write in flight and the reservation it holds: the
// Agenda is out of its queue and counted in its Insight's admitted set from the decision
// on, so no later decision can give its place away or pick it again.
type admissionWrite struct {
	key     AgendaKey
	insight InsightKey
	item    queue.Item
	// prev is the Agenda's state before the reservation, reserved the one that replaced it.
	prev, reserved *agendaState
	// err is the write's answer, set before done is closed.
	err  error
	done chan struct{}
}

// pipe bounds the admission writes in flight, oldest first. Writes run on their own
// goroutines; their answers are taken in the order the writes were decided, by the
// goroutine running cycles, which alone touches the scheduler's state. A decision waits
// for a free place, and a place frees only when the oldest write is answered: so a refused
// Agenda is back at its place before the decision limit places after it, and at most
// limit-1 Agendas behind it can be admitted ahead of it (those already in flight).
type pipe struct {
	limit    int
	inFlight []*admissionWrite
}

func newPipe(limit int) *pipe {
	if limit <= 0 {
		limit = DefaultAdmissionWrites
	}
	return &pipe{limit: limit}
}

// send writes one admission on its own goroutine; awaitWriteSlot was called before the
// decision, so a place is free.
func (s *Scheduler) send(ctx context.Context, w *admissionWrite, ag *popv1.Agenda) {
	w.done = make(chan struct{})
	s.pipe.inFlight = append(s.pipe.inFlight, w)
	go func() {
		defer close(w.done)
		w.err = s.writeAdmission(ctx, ag, w.insight)
	}()
}

// awaitWriteSlot takes the answers already in, oldest first, and waits for the oldest
// while every place is taken.
func (s *Scheduler) awaitWriteSlot() {
	for len(s.pipe.inFlight) > 0 {
		oldest := s.pipe.inFlight[0]
		if len(s.pipe.inFlight) < s.pipe.limit {
			select {
			case <-oldest.done:
			default:
				return
			}
		}
		<-oldest.done
		s.takeOldest()
	}
}

// drainWrites waits for every write in flight and takes its answer, oldest first.
func (s *Scheduler) drainWrites() {
	for len(s.pipe.inFlight) > 0 {
		<-s.pipe.inFlight[0].done
		s.takeOldest()
	}
}

func (s *Scheduler) takeOldest() {
	w := s.pipe.inFlight[0]
	s.pipe.inFlight[0] = nil
	s.pipe.inFlight = s.pipe.inFlight[1:]
	if w.err == nil {
		s.admitted(w)
		return
	}
	s.unreserve(w)
}
