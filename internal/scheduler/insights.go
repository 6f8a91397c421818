package scheduler

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/metrics"
	"github.com/pop-operator/pop/internal/queue"
)

// insightState is one Insight's queue and usage. It outlives its Insight while Agendas the
// Insight admitted still run (ins is then nil): they keep holding its capacity, so an
// Insight re-created under the same name starts with them counted.
type insightState struct {
	// ins is the Insight's spec as last read; nil while the Insight does not exist, and then
	// nothing is queued or admitted here.
	ins   *popv1.Insight
	queue queue.Queue
	// admitted maps admitted, unfinished Agendas to their customer.
	admitted map[types.NamespacedName]string
	// statusWritten is when the Insight's status was last written, positionsAt when its
	// queue positions were last computed.
	statusWritten, positionsAt time.Time
	// recent are its latest admissions' times, oldest first: its admission rate.
	recent []time.Time
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

// matchingSpec is the part of a spec that decides which Agendas an Insight takes: the
// spec without the fields known to decide only order, usage or Pods. Any other field,
// including one added later, counts as matching, so a change to it is never missed.
func matchingSpec(ins *popv1.Insight) popv1.InsightSpec {
	s := *ins.Spec.DeepCopy()
	s.Algorithm, s.Capacity, s.Paused, s.CustomerWeights, s.Aging, s.PriorityClassName = "", nil, false, nil, nil, ""
	return s
}

// insightChanged tells an Insight event the scheduler must act on from the echo of its own
// status writes: a new generation (the spec changed), the start of its deletion, or
// another Insight under the same name (a relist after a missed delete).
func insightChanged(old, cur client.Object) bool {
	return old.GetGeneration() != cur.GetGeneration() || old.GetUID() != cur.GetUID() ||
		(old.GetDeletionTimestamp() == nil) != (cur.GetDeletionTimestamp() == nil)
}

// reloadInsights reads every Insight, as after a restart; the caller re-reads every Agenda.
func (s *Scheduler) reloadInsights(ctx context.Context) error {
	var list popv1.InsightList
	if err := s.Cache.List(ctx, &list); err != nil {
		return err
	}
	seen := map[InsightKey]bool{}
	for i := range list.Items {
		key := insightKeyOf(&list.Items[i])
		seen[key] = true
		s.applyInsight(key, &list.Items[i])
	}
	for key := range s.insights {
		if !seen[key] {
			s.applyInsight(key, nil)
		}
	}
	return nil
}

// reloadInsight reads one Insight that changed and returns the Agendas to match again.
func (s *Scheduler) reloadInsight(ctx context.Context, key InsightKey) ([]types.NamespacedName, error) {
	var ins popv1.Insight
	err := s.Cache.Get(ctx, types.NamespacedName(key), &ins)
	if apierrors.IsNotFound(err) {
		return s.applyInsight(key, nil), nil
	}
	if err != nil {
		return nil, err
	}
	return s.applyInsight(key, &ins), nil
}

// applyInsight brings an Insight's state in line with its object (nil: gone) and returns
// the Agendas whose match may have changed: every waiting one when the Insight appeared or
// its matching changed, its own queue when it went away, none for a change of capacity,
// pause or order.
func (s *Scheduler) applyInsight(key InsightKey, ins *popv1.Insight) []types.NamespacedName {
	st := s.insights[key]
	if ins == nil || ins.DeletionTimestamp != nil {
		return s.retire(key, st)
	}
	switch {
	case st == nil || st.ins == nil: // new, or back after a deletion with its usage
		st = s.usage(key)
		st.queue = newQueue(policyOf(ins), st.admitted)
		st.ins = ins
		// Its first positions pass waits a period: Agendas keep the positions they show
		// (or get one on joining), and a rebuild's first admissions settle first.
		st.positionsAt = s.Clock.Now()
		return s.waitingKeys()
	case !equality.Semantic.DeepEqual(policyOf(st.ins), policyOf(ins)):
		st.queue = requeue(st.queue, policyOf(ins), st.admitted)
	}
	rematch := !equality.Semantic.DeepEqual(matchingSpec(st.ins), matchingSpec(ins))
	st.ins = ins
	if rematch {
		return s.waitingKeys()
	}
	return nil
}

// retire stops an Insight that was deleted: nothing more is admitted from it, its waiting
// Agendas are matched again, and its state stays only while Agendas it admitted run.
func (s *Scheduler) retire(key InsightKey, st *insightState) []types.NamespacedName {
	if st == nil || st.ins == nil {
		return nil
	}
	waiting := s.queuedIn(key)
	st.ins = nil
	st.queue = newQueue(queue.Policy{}, st.admitted)
	if len(st.admitted) == 0 {
		delete(s.insights, key)
	}
	for _, g := range []interface{ DeleteLabelValues(...string) bool }{metrics.InsightPending, metrics.InsightAdmitted, metrics.InsightCapacity} {
		g.DeleteLabelValues(key.String())
	}
	s.Log.Info("Insight deleted: matching its waiting Agendas again", "insight", key, "waiting", len(waiting), "stillRunning", len(st.admitted))
	return waiting
}

// usage returns the state that counts an Insight's admitted Agendas, created empty (and
// without an Insight) if need be.
func (s *Scheduler) usage(key InsightKey) *insightState {
	st, ok := s.insights[key]
	if !ok {
		st = &insightState{queue: queue.New(queue.Policy{}), admitted: map[types.NamespacedName]string{}}
		s.insights[key] = st
	}
	return st
}

// newQueue is an empty queue that knows the customers of the Agendas already admitted.
func newQueue(p queue.Policy, admitted map[types.NamespacedName]string) queue.Queue {
	q := queue.New(p)
	for _, customer := range admitted {
		q.Admit(customer)
	}
	return q
}

// requeue moves waiting Agendas into a queue of a new policy: their items carry all the
// new order needs, so no Agenda is read again.
func requeue(old queue.Queue, p queue.Policy, admitted map[types.NamespacedName]string) queue.Queue {
	q := newQueue(p, admitted)
	for _, it := range old.Head(old.Len()) {
		q.Push(it)
	}
	return q
}

// queuedIn lists the Agendas waiting in an Insight's queue.
func (s *Scheduler) queuedIn(key InsightKey) []types.NamespacedName {
	st := s.insights[key]
	var out []types.NamespacedName
	for _, it := range st.queue.Head(st.queue.Len()) {
		out = append(out, agendaKey(it.Key))
	}
	return out
}

// waitingKeys lists the Agendas not admitted: queued somewhere or matched by no Insight.
func (s *Scheduler) waitingKeys() []types.NamespacedName {
	var out []types.NamespacedName
	for k, a := range s.agendas {
		if !a.admitted {
			out = append(out, k)
		}
	}
	return out
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
