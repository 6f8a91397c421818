package controllers

import (
	"context"
	"strings"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/fanout"
	"github.com/pop-operator/pop/internal/metrics"
)

// recordTransitions describes a stored status change from ag's status to next: Events for
// what a user must act on or wait for no longer (an invalid spec, a failed attempt, a rerun,
// the Agenda's end), operation starts and ends counted per HandlerType, the Agenda's end
// counted by result, and each operation's change of state logged with the agenda, insight,
// operation and attempt keys (JSON in production). It runs after the one status write of a
// reconcile, and only when that write was stored.
func (r *AgendaReconciler) recordTransitions(ctx context.Context, ag *popv1.Agenda, next *popv1.AgendaStatus) {
	log := logf.FromContext(ctx).WithValues("insight", next.Insight)
	typeOf := make(map[string]string, len(ag.Spec.Operations))
	for _, op := range ag.Spec.Operations {
		typeOf[op.Name] = op.Type
	}
	prev := make(map[string]popv1.OperationStatus, len(ag.Status.Operations))
	for _, o := range ag.Status.Operations {
		prev[o.Name] = o
	}
	for _, o := range next.Operations {
		typ, ok := typeOf[o.Name]
		if group, _, generated := fanout.Split(o.Name); !ok && generated {
			typ = typeOf[group] // encode[3] runs encode's type
		}
		r.recordOperation(ag, log.WithValues("operation", o.Name), typ, prev[o.Name], o)
	}
	if next.ObservedRerunID != ag.Status.ObservedRerunID && ag.Spec.Rerun != nil {
		log.Info("Rerunning Agenda", "rerun", next.ObservedRerunID)
		r.Recorder.Eventf(ag, nil, corev1.EventTypeNormal, popv1.ReasonRerunRequested, "Rerun",
			"Rerun %q (%s): back to the queue", ag.Spec.Rerun.ID, ag.Spec.Rerun.Mode)
	}
	if ag.Status.Phase != next.Phase {
		log.Info("Agenda changed phase", "from", ag.Status.Phase, "phase", next.Phase)
		r.recordPhase(ag, next)
	}
}

// recordOperation counts, logs and reports one operation's change.
func (r *AgendaReconciler) recordOperation(ag *popv1.Agenda, log logr.Logger, handlerType string, p, o popv1.OperationStatus) {
	countOperation(handlerType, p, o)
	if o.State != p.State || o.Attempts != p.Attempts {
		opLog := log.WithValues("attempt", o.Attempts, "state", o.State, "pod", o.Pod)
		if o.State == popv1.OperationFailed {
			opLog.Info("Operation failed", "message", o.Message)
		} else {
			opLog.V(1).Info("Operation changed state")
		}
	}
	if o.Failures > p.Failures || (o.State == popv1.OperationFailed && p.State != popv1.OperationFailed) {
		r.Recorder.Eventf(ag, nil, corev1.EventTypeWarning, popv1.ReasonOperationFailed, "RunOperation",
			"Operation %s attempt %d: %s", o.Name, o.Attempts, o.Message)
	}
}

// recordPhase records the Agenda's move to a phase: for an invalid spec a Warning, for an end
// an Event and the count of finished Agendas by Insight and result. Pending, Queued and
// Running get no Event: status and its conditions show them, and an Event per step would
// cost API writes for every Agenda that goes as expected.
func (r *AgendaReconciler) recordPhase(ag *popv1.Agenda, next *popv1.AgendaStatus) {
	switch next.Phase {
	case popv1.PhaseInvalid:
		r.Recorder.Eventf(ag, nil, corev1.EventTypeWarning, popv1.ReasonInvalidSpec, "Validate", "Agenda is invalid; see its Accepted condition")
	case popv1.PhaseSucceeded:
		metrics.AgendasFinished.WithLabelValues(next.Insight, "succeeded").Inc()
		r.Recorder.Eventf(ag, nil, corev1.EventTypeNormal, popv1.ReasonAllOperationsSucceed, "Finish", "All %d operations succeeded", len(next.Operations))
	case popv1.PhaseFailed, popv1.PhaseCancelled:
		metrics.AgendasFinished.WithLabelValues(next.Insight, strings.ToLower(string(next.Phase))).Inc()
		r.Recorder.Eventf(ag, nil, corev1.EventTypeWarning, string(next.Phase), "Finish", "Agenda %s", strings.ToLower(string(next.Phase)))
	}
}

func countOperation(handlerType string, prev, next popv1.OperationStatus) {
	if next.Attempts > prev.Attempts {
		metrics.OperationsStarted.WithLabelValues(handlerType).Add(float64(next.Attempts - prev.Attempts))
	}
	if next.State == prev.State {
		return
	}
	result := map[popv1.OperationState]string{popv1.OperationSucceeded: "succeeded", popv1.OperationFailed: "failed"}[next.State]
	if result == "" {
		return
	}
	metrics.OperationsFinished.WithLabelValues(handlerType, result).Inc()
	if next.StartTime != nil && next.CompletionTime != nil {
		metrics.OperationDuration.WithLabelValues(handlerType, result).Observe(next.CompletionTime.Sub(next.StartTime.Time).Seconds())
	}
}
