package scheduler

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/metrics"
)

// headSize is how many queued Agendas an Insight's status lists with their positions.
const headSize = 10

// refreshStatuses rewrites each Insight's status when it changed, at most once per
// statusRefresh: queue positions without a write per pending Agenda.
func (s *Scheduler) refreshStatuses(ctx context.Context) {
	now := s.Clock.Now()
	for key, st := range s.insights {
		if st.ins == nil {
			continue
		}
		label := key.String()
		metrics.InsightPending.WithLabelValues(label).Set(float64(st.queue.Len()))
		metrics.InsightAdmitted.WithLabelValues(label).Set(float64(len(st.admitted)))
		metrics.InsightCapacity.WithLabelValues(label).Set(float64(st.ins.Spec.CapacityOrDefault()))
		if now.Sub(st.statusWritten) < statusRefresh {
			continue
		}
		next := s.insightStatus(st)
		if equality.Semantic.DeepEqual(st.ins.Status, next) {
			continue
		}
		written, err := s.writeInsightStatus(ctx, st.ins, next)
		if err != nil {
			if !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				s.Log.Error(err, "Writing Insight status failed", "insight", key)
			}
			continue
		}
		// Remember what was written: its echo is ignored (see insightChanged).
		st.ins, st.statusWritten = written, now
	}
}

func (s *Scheduler) insightStatus(st *insightState) popv1.InsightStatus {
	ins := st.ins
	next := *ins.Status.DeepCopy()
	next.ObservedGeneration = ins.Generation
	next.Pending, next.Admitted = int32(st.queue.Len()), int32(len(st.admitted))
	next.Head = nil
	for i, it := range st.queue.Head(headSize) {
		since := metav1.NewTime(it.Since)
		next.Head = append(next.Head, popv1.PendingAgenda{Namespace: it.Key.Namespace, Name: it.Key.Name, Position: int32(i + 1), Since: &since})
	}
	next.OldestPendingSince = oldestPending(st)
	capacity := ins.Spec.CapacityOrDefault()
	set := func(typ string, ok bool, reason, msg string) {
		status := metav1.ConditionFalse
		if ok {
			status = metav1.ConditionTrue
		}
		meta.SetStatusCondition(&next.Conditions, metav1.Condition{Type: typ, Status: status, Reason: reason,
			Message: msg, ObservedGeneration: ins.Generation})
	}
	set(popv1.InsightReady, true, "Scheduling", "the scheduler holds this Insight's queue")
	set(popv1.InsightPausedCondition, ins.Spec.Paused, "Spec", fmt.Sprintf("spec.paused is %v", ins.Spec.Paused))
	set(popv1.InsightAtCapacity, next.Admitted >= capacity, "Usage", fmt.Sprintf("%d of %d admitted", next.Admitted, capacity))
	return next
}

// oldestPending asks the queue, which keeps it without a walk over its Agendas.
func oldestPending(st *insightState) *metav1.Time {
	oldest, ok := st.queue.Oldest()
	if !ok {
		return nil
	}
	t := metav1.NewTime(oldest)
	return &t
}

// writeInsightStatus patches the status and returns the Insight as the API server stored it.
func (s *Scheduler) writeInsightStatus(ctx context.Context, ins *popv1.Insight, next popv1.InsightStatus) (*popv1.Insight, error) {
	patched := ins.DeepCopy()
	patched.Status = next
	err := s.Client.Status().Patch(ctx, patched, client.MergeFrom(ins), client.FieldOwner(FieldOwner))
	return patched, err
}
