package scheduler

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/execution"
	"github.com/pop-operator/pop/internal/matching"
	"github.com/pop-operator/pop/internal/queue"
)

// insightState is one Insight's queue and usage.
type insightState struct {
	ins   *popv1.Insight
	queue queue.Queue
	// admitted maps admitted, unfinished Agendas to their customer.
	admitted map[types.NamespacedName]string
	// statusWritten is when the Insight's status was last written.
	statusWritten time.Time
}

// agendaState is what the scheduler knows of one Agenda.
type agendaState struct {
	uid      types.UID
	insight  string // the Insight key it is queued in or admitted by
	customer string
	admitted bool
	// rerunID is the Agenda's observedRerunID when this scheduler admitted it: a cached
	// copy still pending with the same id predates the admission.
	rerunID string
	// admittedByMe is true from the admission write until the cache shows it.
	admittedByMe bool
	// since is when a pending Agenda joined its queue.
	since time.Time
	// unjudged is true while the Agenda controller has not yet said whether it is Accepted.
	unjudged bool
}

func policyOf(ins *popv1.Insight) queue.Policy {
	p := queue.Policy{Algorithm: string(ins.Spec.Algorithm), Weights: map[string]int32{}}
	for _, w := range ins.Spec.CustomerWeights {
		p.Weights[w.Customer] = w.Weight
	}
	if a := ins.Spec.Aging; a != nil {
		p.AgingInterval, p.AgingStep = a.Interval.Duration, a.Step
	}
	return p
}

// reloadInsights refreshes the Insight specs. An Insight whose ordering policy changed gets
// a new, empty queue: every Agenda is re-read afterwards, which refills it.
func (s *Scheduler) reloadInsights(ctx context.Context) error {
	var list popv1.InsightList
	if err := s.Cache.List(ctx, &list); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i := range list.Items {
		ins := &list.Items[i]
		key := matching.Key(ins)
		seen[key] = true
		st, ok := s.insights[key]
		if !ok || !equality.Semantic.DeepEqual(policyOf(st.ins), policyOf(ins)) {
			admitted := map[types.NamespacedName]string{}
			if ok {
				admitted = st.admitted
			}
			st = &insightState{queue: queue.New(policyOf(ins)), admitted: admitted}
			for _, customer := range admitted {
				st.queue.Admit(customer)
			}
			s.insights[key] = st
			s.forgetQueued(key)
		}
		st.ins = ins
	}
	for key, st := range s.insights {
		if !seen[key] && len(st.admitted) == 0 {
			delete(s.insights, key)
			s.forgetQueued(key)
		}
	}
	return nil
}

// forgetQueued drops pending Agendas' link to an Insight whose queue was replaced.
func (s *Scheduler) forgetQueued(key string) {
	for _, a := range s.agendas {
		if a.insight == key && !a.admitted {
			a.insight = ""
		}
	}
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
		s.markAgenda(key)
		return
	}
	st := s.agendas[key]
	if st != nil && st.uid != ag.UID { // deleted and re-created under the same name
		s.drop(key)
		st = nil
	}
	// Number the Agenda when first seen, in watch order: it keeps its place among Agendas of
	// the same second even if the Agenda controller accepts them in another order.
	s.sequence(ag.UID)
	switch {
	case execution.IsFinished(&ag):
		s.forget(key)
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

// drop forgets an Agenda: out of its queue, and its capacity released if it held any.
func (s *Scheduler) drop(key types.NamespacedName) {
	st, ok := s.agendas[key]
	if !ok {
		return
	}
	delete(s.agendas, key)
	ins := s.insights[st.insight]
	if ins == nil {
		return
	}
	if st.admitted {
		if _, held := ins.admitted[key]; held {
			delete(ins.admitted, key)
			ins.queue.Release(st.customer)
			admittedGauge(ins).Set(float64(len(ins.admitted)))
		}
		return
	}
	ins.queue.Remove(key.String())
}

// forget drops an Agenda that is gone or finished, with its sequence number.
func (s *Scheduler) forget(key types.NamespacedName) {
	if st, ok := s.agendas[key]; ok {
		delete(s.seqs, st.uid)
	}
	s.drop(key)
}

// trackAdmitted counts an admitted Agenda against the Insight that admitted it.
func (s *Scheduler) trackAdmitted(key types.NamespacedName, ag *popv1.Agenda, st *agendaState) {
	insightKey := ag.Status.Insight
	if st != nil && st.admitted && st.insight == insightKey {
		st.admittedByMe = false
		return
	}
	if st != nil {
		s.drop(key)
	}
	customer := s.customerOf(ag.Namespace)
	s.agendas[key] = &agendaState{uid: ag.UID, insight: insightKey, customer: customer, admitted: true}
	ins := s.insights[insightKey]
	if ins == nil { // admitted by an Insight since deleted: it holds no capacity anywhere
		return
	}
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
	insightKey := matching.Key(ins)
	if st != nil && st.insight != insightKey {
		s.drop(key)
	}
	customer := popv1.CustomerOf(ag.Namespace, nsLabels)
	since := queuedSince(ag)
	s.agendas[key] = &agendaState{uid: ag.UID, insight: insightKey, customer: customer, since: since}
	s.insights[insightKey].queue.Push(queue.Item{
		Key: key.String(), UID: string(ag.UID), Customer: customer, Priority: ag.Spec.Priority, Since: since,
		Seq: s.sequence(ag.UID),
	})
	s.markQueued(ctx, ag, ins)
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

func (s *Scheduler) insightList() []*popv1.Insight {
	out := make([]*popv1.Insight, 0, len(s.insights))
	for _, st := range s.insights {
		if st.ins != nil {
			out = append(out, st.ins)
		}
	}
	return out
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
