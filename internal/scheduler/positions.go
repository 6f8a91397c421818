package scheduler

import (
	"context"
	"math"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// positionRefresh is how often an Insight's queue positions are recomputed: ordering the
// whole queue is the one cost here that grows with its length, and a customer reading a
// position does not need it fresher.
const positionRefresh = 5 * time.Second

// rateWindow is how many recent admissions an Insight's admission rate is measured over.
const rateWindow = 32

// bucket is the coarse position whose change warrants a write: exact up to 10, then the
// leading digit (10-19 → 10, 200-299 → 200). An Agenda at position p is then rewritten
// about 9 times per decade on its way to the head, not p times.
func bucket(p int32) int32 {
	if p <= 10 {
		return p
	}
	unit := int32(1)
	for p/unit >= 10 {
		unit *= 10
	}
	return p / unit * unit
}

// noteAdmission remembers when the Insight admitted, for its rate.
func (st *insightState) noteAdmission(at time.Time) {
	st.recent = append(st.recent, at)
	if len(st.recent) > rateWindow {
		st.recent = st.recent[len(st.recent)-rateWindow:]
	}
}

// admissionRate is the Insight's admissions per second over its recent ones, counted up
// to now, so that an Insight that stopped admitting shows a falling rate; 0 when unknown.
func (st *insightState) admissionRate(now time.Time) float64 {
	if len(st.recent) < 2 {
		return 0
	}
	span := now.Sub(st.recent[0]).Seconds()
	if span <= 0 {
		return 0
	}
	return float64(len(st.recent)) / span
}

// positionDepth is how far down its queue an Insight's positions are recomputed: ordering
// the whole queue of a long backlog every pass would cost more than the admissions. An
// Agenda further back shows the position it was given on joining the queue (see
// joinPosition) until it comes this close to the head.
const positionDepth = 1000

// positionBudget is the most position writes one Insight makes per positionRefresh, so
// that a long queue moving fast costs a bounded write rate. The positions furthest off
// are written first; the others wait for a later pass.
const positionBudget = 50

// positionUpdate is one Agenda whose written position left its bucket.
type positionUpdate struct {
	key AgendaKey
	pos int32
	off float64 // how far off the written position is: written/actual, ∞ when none was
}

// refreshPositions recomputes each Insight's queue positions at most once per
// positionRefresh and writes, within the budget, those that entered another bucket.
func (s *Scheduler) refreshPositions(ctx context.Context) {
	now := s.Clock.Now()
	for key, st := range s.insights {
		if st.ins == nil || now.Sub(st.positionsAt) < positionRefresh {
			continue
		}
		st.positionsAt = now
		rate := st.admissionRate(now)
		if st.ins.Spec.Paused {
			rate = 0
		}
		for _, u := range s.stalePositions(st) {
			s.writePosition(ctx, key, st.ins, u.key, u.pos, rate, now)
		}
	}
}

// stalePositions lists, furthest off first, at most positionBudget Agendas among the first
// positionDepth of an Insight's queue whose written position is in another bucket than
// their place.
func (s *Scheduler) stalePositions(st *insightState) []positionUpdate {
	var out []positionUpdate
	for i, it := range st.queue.Head(min(st.queue.Len(), positionDepth)) {
		key, pos := agendaKey(it.Key), int32(i+1)
		a := s.agendas[key]
		if a == nil || (a.position != 0 && bucket(a.position) == bucket(pos)) {
			continue
		}
		off := math.Inf(1)
		if a.position != 0 {
			off = math.Max(float64(a.position)/float64(pos), float64(pos)/float64(a.position))
		}
		out = append(out, positionUpdate{key: key, pos: pos, off: off})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].off > out[j].off })
	return out[:min(len(out), positionBudget)]
}

// writePosition writes one Agenda's position and expected admission if its bucket moved.
func (s *Scheduler) writePosition(ctx context.Context, insightKey InsightKey, ins *popv1.Insight, key AgendaKey, pos int32, rate float64, now time.Time) {
	a := s.agendas[key]
	var ag popv1.Agenda
	if err := s.Cache.Get(ctx, key, &ag); err != nil {
		return // gone: its event will remove it from the queue
	}
	fields := s.queuedFields(&ag, insightKey, ins)
	setPosition(&fields, pos, rate, now)
	if s.applyOrLog(ctx, &ag, fields) {
		a.position = pos
	}
}

// setPosition puts a position, and the expected admission at rate (0: unknown), in a write.
func setPosition(fields *agendaStatusFields, pos int32, rate float64, now time.Time) {
	at := metav1.NewTime(now)
	fields.QueuePosition, fields.PositionTime = &pos, &at
	if rate > 0 {
		eta := metav1.NewTime(now.Add(time.Duration(float64(pos) / rate * float64(time.Second))).Truncate(time.Second))
		fields.EstimatedAdmissionTime = &eta
	}
}

// joinPosition is the position given to an Agenda joining a queue, in the write that says
// it is queued: the queue's length, its exact place in FIFO (it joins at the tail) and an
// upper bound at that moment in the others; the next pass corrects it within
// positionDepth, furthest-off first.
func (s *Scheduler) joinPosition(fields *agendaStatusFields, st *insightState, paused bool) int32 {
	pos := int32(st.queue.Len())
	rate := 0.0
	if !paused {
		rate = st.admissionRate(s.Clock.Now())
	}
	setPosition(fields, pos, rate, s.Clock.Now())
	return pos
}

// queuedFields is the scheduler's part of a queued Agenda's status: its Insight and the
// Queued condition.
func (s *Scheduler) queuedFields(ag *popv1.Agenda, insightKey InsightKey, ins *popv1.Insight) agendaStatusFields {
	reason, msg := popv1.ReasonWaitingForCapacity, "waiting in the queue of Insight "+insightKey.String()
	if ins.Spec.Paused {
		reason, msg = popv1.ReasonInsightPaused, "waiting: Insight "+insightKey.String()+" is paused"
	}
	return agendaStatusFields{Insight: insightKey.String(), Conditions: []metav1.Condition{
		s.condition(ag, popv1.AgendaQueued, metav1.ConditionTrue, reason, msg),
	}}
}

// keepPosition copies the position the Agenda shows into a write that must not remove it.
func keepPosition(fields *agendaStatusFields, ag *popv1.Agenda) {
	fields.QueuePosition, fields.PositionTime = ag.Status.QueuePosition, ag.Status.PositionTime
	fields.EstimatedAdmissionTime = ag.Status.EstimatedAdmissionTime
}

// shownPosition is the position an Agenda's status already shows in this Insight, so that
// a restarted scheduler does not rewrite every position.
func shownPosition(ag *popv1.Agenda, insightKey InsightKey) int32 {
	if ag.Status.QueuePosition == nil || ag.Status.Insight != insightKey.String() ||
		!meta.IsStatusConditionTrue(ag.Status.Conditions, popv1.AgendaQueued) {
		return 0
	}
	return *ag.Status.QueuePosition
}
