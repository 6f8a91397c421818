package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/metrics"
	"github.com/pop-operator/pop/internal/queue"
)

// admitAll admits queue heads while their Insight has free capacity. Usage counts the
// scheduler's own admissions at once (a reservation, before the write is answered), so a
// cache that lags, or writes still in flight, cannot make it over-admit. The decisions are
// made one after another; only their writes overlap (see pipe). Every write of the pass has
// been answered when admitAll returns, so all of them end within the pass's fence.
func (s *Scheduler) admitAll(ctx context.Context) {
	defer s.drainWrites()
	for key, st := range s.insights {
		if st.ins == nil || st.ins.Spec.Paused {
			continue
		}
		s.admitFrom(ctx, key, st)
	}
}

// admitFrom admits one Insight's heads in order. A head waiting out a refusal that held the
// queue stops it; one refused for its own sake (403, 422) is set aside for this pass, so
// that it freezes nobody behind it, and put back at its place afterwards.
func (s *Scheduler) admitFrom(ctx context.Context, insightKey InsightKey, st *insightState) {
	var aside []queue.Item
	defer func() {
		for _, it := range aside {
			st.queue.Push(it) // same item, same place
		}
	}()
	for {
		// Wait for a free write first: a refusal answered meanwhile puts its Agenda back at
		// its place before the next decision.
		s.awaitWriteSlot()
		if ctx.Err() != nil || int32(len(st.admitted)) >= st.ins.Spec.CapacityOrDefault() {
			return
		}
		it, ok := st.queue.Peek()
		if !ok || s.unjudged(agendaKey(it.Key)) {
			return // an Agenda not yet accepted holds its place at the head
		}
		if r, waiting := s.retries[agendaKey(it.Key)]; waiting && s.Clock.Now().Before(r.at) {
			if r.holdsQueue {
				return
			}
			st.queue.Remove(it.Key)
			aside = append(aside, it)
			continue
		}
		s.admit(ctx, insightKey, st, it)
	}
}

// admit reserves the head's place (out of the queue, counted as admitted) and sends its
// admission write; the answer is taken by admitted or unreserve.
func (s *Scheduler) admit(ctx context.Context, insightKey InsightKey, st *insightState, it queue.Item) {
	key := agendaKey(it.Key)
	var ag popv1.Agenda
	if err := s.Cache.Get(ctx, key, &ag); err != nil || string(ag.UID) != it.UID {
		st.queue.Remove(it.Key) // gone or replaced: its next event re-reads it
		s.marks.agenda(key)
		return
	}
	st.queue.Pop()
	st.admitted[key] = it.Customer
	w := &admissionWrite{key: key, insight: insightKey, item: it, prev: s.agendas[key],
		reserved: &agendaState{uid: ag.UID, insight: insightKey, customer: it.Customer, admitted: true,
			admittedByMe: true, rerunID: ag.Status.ObservedRerunID}}
	s.agendas[key] = w.reserved
	metrics.InsightAdmitted.WithLabelValues(insightKey.String()).Set(float64(len(st.admitted)))
	s.send(ctx, w, &ag)
}

// admitted takes an accepted admission write.
func (s *Scheduler) admitted(w *admissionWrite) {
	s.forgetRetries(w.key)
	label := w.insight.String()
	if st := s.insights[w.insight]; st != nil {
		st.noteAdmission(s.Clock.Now())
	}
	metrics.Admissions.WithLabelValues(label).Inc()
	metrics.AdmissionWait.WithLabelValues(label).Observe(s.Clock.Since(w.item.Since).Seconds())
	s.Log.Info("Admitted Agenda", "agenda", w.key.String(), "insight", label)
}

// unreserve takes a refused admission write: the place it reserved is freed, the Agenda
// goes back to its place in the queue (same item, same order) with a backoff (see
// refused). An Agenda whose event settled it meanwhile (deleted, cancelled, finished,
// moved) is left as that event left it.
func (s *Scheduler) unreserve(w *admissionWrite) {
	if s.agendas[w.key] != w.reserved {
		return
	}
	if st := s.insights[w.insight]; st != nil {
		s.release(w.insight, st, w.key, w.item.Customer)
	}
	if w.prev == nil {
		delete(s.agendas, w.key)
	} else {
		s.agendas[w.key] = w.prev
	}
	if st := s.insights[w.insight]; st != nil && st.ins != nil {
		st.queue.Push(w.item)
	} else {
		s.marks.agenda(w.key) // its Insight is gone: match it again
	}
	s.refused(w.key, w.err)
}

// refused records a refused admission. The Agenda waits a delay that doubles with each
// refusal in a row (client-go's per-item exponential rate limiter) before it is tried
// again: a refusal for good or an API outage costs a few attempts, not a busy loop. A
// refusal that says nothing against the Agenda holds the queue behind it, so that order is
// kept; one against the Agenda lets the others pass meanwhile (admitFrom reads which).
func (s *Scheduler) refused(key AgendaKey, err error) {
	delay := s.failures.When(key)
	s.retries[key] = retry{at: s.Clock.Now().Add(delay), holdsQueue: retryable(err)}
	attempt := s.failures.NumRequeues(key)
	switch {
	case apierrors.IsConflict(err), apierrors.IsNotFound(err):
		s.Log.V(1).Info("Admission refused; retrying with a fresh copy", "agenda", key.String(), "reason", err.Error(), "retryIn", delay)
	default:
		s.Log.Error(err, "Admitting Agenda failed; retrying later", "agenda", key.String(), "attempt", attempt, "retryIn", delay)
	}
}

// retry is when a refused Agenda may be tried again, and whether it holds its queue.
type retry struct {
	at         time.Time
	holdsQueue bool
}

// Admission backoff: the first retry after 100 ms (a Conflict usually needs only the cache
// to catch up), doubling to at most 30 s (after an outage, admissions resume within 30 s).
const (
	admitRetryBase = 100 * time.Millisecond
	admitRetryMax  = 30 * time.Second
)

func (s *Scheduler) forgetRetries(key AgendaKey) {
	delete(s.retries, key)
	s.failures.Forget(key)
}

// retryTimer fires at the next retry time still ahead, so that a refused head is tried
// again on time without a cycle in between. Retry times already past wait for capacity
// or their turn, which other events bring.
func (s *Scheduler) retryTimer() (<-chan time.Time, func()) {
	now := s.Clock.Now()
	var next time.Time
	for _, r := range s.retries {
		if r.at.After(now) && (next.IsZero() || r.at.Before(next)) {
			next = r.at
		}
	}
	if next.IsZero() {
		return nil, func() {}
	}
	t := s.Clock.NewTimer(next.Sub(now))
	return t.C(), func() { t.Stop() }
}

// retryable errors say nothing against the Agenda itself: trying the same head again
// (after the cache catches up) is right, and admitting the next one instead would break
// the queue's order.
func retryable(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsTooManyRequests(err) || apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err) ||
		apierrors.IsUnexpectedServerError(err) || !isAPIStatus(err)
}

// isAPIStatus tells an answer of the API server from a transport failure.
func isAPIStatus(err error) bool {
	var st apierrors.APIStatus
	return errors.As(err, &st)
}

func (s *Scheduler) unjudged(key AgendaKey) bool {
	a, ok := s.agendas[key]
	return ok && a.unjudged
}

// agendaStatusApply is the part of an Agenda's status the scheduler owns.
type agendaStatusApply struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Metadata   applyMeta          `json:"metadata"`
	Status     agendaStatusFields `json:"status"`
}

type applyMeta struct {
	Name            string `json:"name"`
	Namespace       string `json:"namespace"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
}

type agendaStatusFields struct {
	Insight       string             `json:"insight,omitempty"`
	AdmissionTime *metav1.Time       `json:"admissionTime,omitempty"`
	Conditions    []metav1.Condition `json:"conditions"`
	// The place in the queue: every write of a queued Agenda carries it, since an apply
	// that left it out would remove it (the admission does, on purpose).
	QueuePosition          *int32       `json:"queuePosition,omitempty"`
	PositionTime           *metav1.Time `json:"positionTime,omitempty"`
	EstimatedAdmissionTime *metav1.Time `json:"estimatedAdmissionTime,omitempty"`
}

// writeAdmission applies Admitted=True, Queued=False and the Insight, with the cached
// resourceVersion as a precondition: an admission decided on a stale copy is refused. It
// leaves out the queue position, which the apply therefore removes.
func (s *Scheduler) writeAdmission(ctx context.Context, ag *popv1.Agenda, insightKey InsightKey) error {
	now := metav1.NewTime(s.Clock.Now())
	return s.apply(ctx, ag, agendaStatusFields{
		Insight:       insightKey.String(),
		AdmissionTime: &now,
		Conditions: []metav1.Condition{
			s.condition(ag, popv1.AgendaAdmitted, metav1.ConditionTrue, popv1.ReasonAdmittedByScheduler, "admitted by Insight "+insightKey.String()),
			s.condition(ag, popv1.AgendaQueued, metav1.ConditionFalse, popv1.ReasonAdmittedByScheduler, "left the queue of Insight "+insightKey.String()),
		},
	}, true)
}

// markQueued records, once, that a pending Agenda waits in an Insight's queue, keeping the
// position it shows there or giving it one (joinPosition).
func (s *Scheduler) markQueued(ctx context.Context, ag *popv1.Agenda, key InsightKey, ins *popv1.Insight) {
	fields := s.queuedFields(ag, key, ins)
	c := meta.FindStatusCondition(ag.Status.Conditions, popv1.AgendaQueued)
	if c != nil && c.Status == metav1.ConditionTrue && c.Reason == fields.Conditions[0].Reason && ag.Status.Insight == fields.Insight {
		return
	}
	pos := int32(0)
	if shownPosition(ag, key) != 0 {
		keepPosition(&fields, ag)
	} else {
		pos = s.joinPosition(&fields, s.insights[key], ins.Spec.Paused)
	}
	if s.applyOrLog(ctx, ag, fields) && pos != 0 {
		s.agendas[client.ObjectKeyFromObject(ag)].position = pos
	}
}

// markUnmatched records, once, why no Insight takes the Agenda.
func (s *Scheduler) markUnmatched(ctx context.Context, ag *popv1.Agenda, why string) {
	c := meta.FindStatusCondition(ag.Status.Conditions, popv1.AgendaQueued)
	if c != nil && c.Reason == popv1.ReasonNoMatchingInsight && c.Message == why {
		return
	}
	s.applyOrLog(ctx, ag, agendaStatusFields{Conditions: []metav1.Condition{
		s.condition(ag, popv1.AgendaQueued, metav1.ConditionFalse, popv1.ReasonNoMatchingInsight, why),
	}})
}

// applyOrLog writes a queued Agenda's status and reports whether it was written.
func (s *Scheduler) applyOrLog(ctx context.Context, ag *popv1.Agenda, fields agendaStatusFields) bool {
	err := s.apply(ctx, ag, fields, false)
	if err != nil && !apierrors.IsNotFound(err) {
		s.Log.Error(err, "Writing Agenda queue status failed", "agenda", client.ObjectKeyFromObject(ag).String())
	}
	return err == nil
}

// condition keeps the transition time of an unchanged condition, as SetStatusCondition does.
func (s *Scheduler) condition(ag *popv1.Agenda, typ string, status metav1.ConditionStatus, reason, msg string) metav1.Condition {
	c := metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg,
		ObservedGeneration: ag.Generation, LastTransitionTime: metav1.NewTime(s.Clock.Now())}
	if old := meta.FindStatusCondition(ag.Status.Conditions, typ); old != nil && old.Status == status {
		c.LastTransitionTime = old.LastTransitionTime
	}
	return c
}

func (s *Scheduler) apply(ctx context.Context, ag *popv1.Agenda, fields agendaStatusFields, precondition bool) error {
	obj := agendaStatusApply{
		APIVersion: popv1.GroupVersion.String(), Kind: "Agenda",
		Metadata: applyMeta{Name: ag.Name, Namespace: ag.Namespace},
		Status:   fields,
	}
	if precondition {
		obj.Metadata.ResourceVersion = ag.ResourceVersion
	}
	body, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("encoding status apply: %w", err)
	}
	target := &popv1.Agenda{}
	target.Namespace, target.Name = ag.Namespace, ag.Name
	return s.Client.Status().Patch(ctx, target, client.RawPatch(types.ApplyPatchType, body),
		client.FieldOwner(FieldOwner), client.ForceOwnership)
}
