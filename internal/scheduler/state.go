package scheduler

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/matching"
	"github.com/pop-operator/pop/internal/metrics"
	"github.com/pop-operator/pop/internal/queue"
)

// state is what the scheduler knows of the cluster: one queue and usage per Insight, one
// entry per Agenda it has seen unfinished. Only the goroutine running cycles touches it.
type state struct {
	insights map[InsightKey]*insightState
	agendas  map[AgendaKey]*agendaState
	// seqs numbers Agendas in the order the scheduler first saw them (queue.Item.Seq).
	seqs    map[types.UID]uint64
	nextSeq uint64
	// failures counts refused admissions per Agenda and says how long to wait before the
	// next attempt; retries holds that time.
	failures workqueue.TypedRateLimiter[AgendaKey]
	retries  map[AgendaKey]retry
}

func newState() *state {
	return &state{
		insights: map[InsightKey]*insightState{},
		agendas:  map[AgendaKey]*agendaState{},
		seqs:     map[types.UID]uint64{},
		failures: workqueue.NewTypedItemExponentialFailureRateLimiter[AgendaKey](admitRetryBase, admitRetryMax),
		retries:  map[AgendaKey]retry{},
	}
}

// agendaState is what the scheduler knows of one Agenda.
type agendaState struct {
	uid      types.UID
	insight  InsightKey // the Insight it is queued in or admitted by
	customer string
	admitted bool
	// rerunID is the Agenda's observedRerunID when this scheduler admitted it: a cached
	// copy still pending with the same id predates the admission.
	rerunID string
	// admittedByMe is true from the admission write until the cache shows it.
	admittedByMe bool
	// unjudged is true while the Agenda controller has not yet said whether it is Accepted.
	unjudged bool
	// position is the queue position last written to its status (0: none).
	position int32
}

// syncAgenda brings one Agenda's place in the queues in line with the cluster.
func (s *Scheduler) syncAgenda(ctx context.Context, key types.NamespacedName) {
	var ag popv1.Agenda
	err := s.Cache.Get(ctx, key, &ag)
	if apierrors.IsNotFound(err) {
		s.forget(key)
		return
	}
	if err != nil {
		s.Log.Error(err, "Reading Agenda failed", "agenda", key.String())
		s.marks.agenda(key)
		return
	}
	st := s.agendas[key]
	if st != nil && st.uid != ag.UID { // deleted and re-created under the same name
		s.forget(key)
		st = nil
	}
	// Number the Agenda when first seen, in watch order: it keeps its place among Agendas of
	// the same second even if the Agenda controller accepts them in another order.
	s.sequence(ag.UID)
	switch {
	case popv1.IsFinished(&ag):
		s.forget(key)
		delete(s.seqs, ag.UID) // also when first seen finished, with no state to find it by
	case meta.IsStatusConditionTrue(ag.Status.Conditions, popv1.AgendaAdmitted):
		s.trackAdmitted(key, &ag, st)
	case st != nil && st.admittedByMe && st.rerunID == ag.Status.ObservedRerunID:
		// The cache predates our admission: keep counting it.
	case ag.Spec.Cancel || meta.IsStatusConditionFalse(ag.Status.Conditions, popv1.AgendaAccepted):
		s.drop(key)
		s.agendas[key] = &agendaState{uid: ag.UID} // remembered, so that forget finds its number
	default:
		// Not yet judged by the Agenda controller (no Accepted condition): it takes its place
		// in the queue now, and the queue waits for the verdict rather than let a later
		// Agenda that happened to be judged first overtake it.
		s.enqueue(ctx, key, &ag, st)
		s.agendas[key].unjudged = meta.FindStatusCondition(ag.Status.Conditions, popv1.AgendaAccepted) == nil
	}
}

// drop forgets an Agenda: out of its queue, its capacity released if it held any, its
// admission backoff forgotten.
func (s *Scheduler) drop(key types.NamespacedName) {
	st, ok := s.agendas[key]
	if !ok {
		return
	}
	delete(s.agendas, key)
	s.forgetRetries(key)
	ins := s.insights[st.insight]
	if ins == nil {
		return
	}
	if !st.admitted {
		ins.queue.Remove(itemKey(key))
		return
	}
	s.release(st.insight, ins, key, st.customer)
}

// release frees the capacity an Agenda held; the state of a deleted Insight goes with the
// last Agenda it admitted.
func (s *Scheduler) release(insightKey InsightKey, ins *insightState, key AgendaKey, customer string) {
	if _, held := ins.admitted[key]; !held {
		return
	}
	delete(ins.admitted, key)
	ins.queue.Release(customer)
	if ins.ins == nil {
		if len(ins.admitted) == 0 {
			delete(s.insights, insightKey)
		}
		return
	}
	metrics.InsightAdmitted.WithLabelValues(insightKey.String()).Set(float64(len(ins.admitted)))
}

// forget drops an Agenda that is gone or finished, with its sequence number.
func (s *Scheduler) forget(key types.NamespacedName) {
	if st, ok := s.agendas[key]; ok {
		delete(s.seqs, st.uid)
	}
	s.drop(key)
}

// trackAdmitted counts an admitted Agenda against the Insight that admitted it, whether
// that Insight exists or not: one re-created under its name must find it counted.
func (s *Scheduler) trackAdmitted(key types.NamespacedName, ag *popv1.Agenda, st *agendaState) {
	insightKey := parseInsightKey(ag.Status.Insight)
	if st != nil && st.admitted && st.insight == insightKey {
		st.admittedByMe = false // counted when it was admitted or first seen
		return
	}
	if st != nil {
		s.drop(key)
	}
	customer := s.customerOf(ag.Namespace)
	s.agendas[key] = &agendaState{uid: ag.UID, insight: insightKey, customer: customer, admitted: true}
	if insightKey == (InsightKey{}) { // admitted by no Insight the scheduler knows: nothing to count against
		return
	}
	ins := s.usage(insightKey)
	ins.admitted[key] = customer
	ins.queue.Admit(customer)
}

// enqueue puts a pending Agenda in the queue of the Insight it matches, or records why none.
func (s *Scheduler) enqueue(ctx context.Context, key types.NamespacedName, ag *popv1.Agenda, st *agendaState) {
	nsLabels := s.namespaceLabels(ag.Namespace)
	ins, why := matching.Match(ag, nsLabels, s.insightList(), s.OperatorNamespace)
	if ins == nil {
		if st != nil {
			s.drop(key)
		}
		s.agendas[key] = &agendaState{uid: ag.UID}
		if meta.IsStatusConditionTrue(ag.Status.Conditions, popv1.AgendaAccepted) {
			s.markUnmatched(ctx, ag, why)
		}
		return
	}
	insightKey := insightKeyOf(ins)
	if st != nil && (st.insight != insightKey || st.admitted) {
		s.drop(key) // moved, or admitted before and back in the queue (a rerun): its slot is free
		st = nil
	}
	customer := popv1.CustomerOf(ag.Namespace, nsLabels)
	position := shownPosition(ag, insightKey)
	if st != nil && st.position != 0 {
		position = st.position
	}
	s.agendas[key] = &agendaState{uid: ag.UID, insight: insightKey, customer: customer, position: position}
	s.insights[insightKey].queue.Push(queue.Item{
		Key: itemKey(key), UID: string(ag.UID), Customer: customer, Priority: ag.Spec.Priority, Since: queuedSince(ag),
		Seq: s.sequence(ag.UID),
	})
	s.markQueued(ctx, ag, insightKey, ins)
}

// sequence numbers Agendas in the order the scheduler first saw them.
func (s *Scheduler) sequence(uid types.UID) uint64 {
	if n, ok := s.seqs[uid]; ok {
		return n
	}
	s.nextSeq++
	s.seqs[uid] = s.nextSeq
	return s.nextSeq
}

// queuedSince is when the Agenda joined its queue: its creation, or its last rerun.
func queuedSince(ag *popv1.Agenda) time.Time {
	if c := meta.FindStatusCondition(ag.Status.Conditions, popv1.AgendaAdmitted); c != nil && c.Reason == popv1.ReasonRerunRequested {
		return c.LastTransitionTime.Time
	}
	return ag.CreationTimestamp.Time
}

func (s *Scheduler) namespaceLabels(name string) map[string]string {
	var ns corev1.Namespace
	if err := s.Cache.Get(context.Background(), types.NamespacedName{Name: name}, &ns); err != nil {
		return nil
	}
	return ns.Labels
}

func (s *Scheduler) customerOf(namespace string) string {
	return popv1.CustomerOf(namespace, s.namespaceLabels(namespace))
}
