package execution

import (
	"k8s.io/apimachinery/pkg/api/meta"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// setPhase is the one place an Agenda's phase is set. The phase only summarises the
// conditions for kubectl get, so it is derived from them, after every other part of the
// status was decided: an end first (Cancelled before Failed, since a cancel sets both), then
// an invalid spec, then where the Agenda stands with the scheduler.
func setPhase(st *popv1.AgendaStatus) {
	st.Phase = phaseOf(st)
}

func phaseOf(st *popv1.AgendaStatus) popv1.AgendaPhase {
	accepted := meta.FindStatusCondition(st.Conditions, popv1.AgendaAccepted)
	switch {
	case meta.IsStatusConditionTrue(st.Conditions, popv1.AgendaCancelled):
		return popv1.PhaseCancelled
	case meta.IsStatusConditionTrue(st.Conditions, popv1.AgendaFailed):
		return popv1.PhaseFailed
	case meta.IsStatusConditionTrue(st.Conditions, popv1.AgendaSucceeded):
		return popv1.PhaseSucceeded
	case accepted != nil && accepted.Reason == popv1.ReasonInvalidSpec:
		return popv1.PhaseInvalid
	case st.IsAdmitted():
		return popv1.PhaseRunning
	case meta.IsStatusConditionTrue(st.Conditions, popv1.AgendaQueued):
		return popv1.PhaseQueued
	}
	return popv1.PhasePending
}
