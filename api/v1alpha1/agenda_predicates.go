package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The rules every component reads an Agenda's state by: the controller, the planner, the
// scheduler, the bridge and the tests ask these rather than test conditions themselves, so
// that "finished" or "admitted" means the same everywhere.

// IsFinished reports whether the Agenda ended: Succeeded=True or Failed=True (a cancel, a
// timeout and a deletion end it Failed). A finished Agenda no longer holds capacity.
func IsFinished(ag *Agenda) bool { return ag.Status.IsFinished() }

// IsFinished is IsFinished for a status being computed, before it belongs to an Agenda.
func (st *AgendaStatus) IsFinished() bool {
	return meta.IsStatusConditionTrue(st.Conditions, AgendaSucceeded) ||
		meta.IsStatusConditionTrue(st.Conditions, AgendaFailed)
}

// IsAdmitted reports whether the scheduler admitted the Agenda (Admitted=True). The
// condition stays True after the Agenda finished, until a rerun sends it back to its queue.
func IsAdmitted(ag *Agenda) bool { return ag.Status.IsAdmitted() }

// IsAdmitted is IsAdmitted for a status being computed.
func (st *AgendaStatus) IsAdmitted() bool {
	return meta.IsStatusConditionTrue(st.Conditions, AgendaAdmitted)
}

// IsRunning reports an Agenda admitted and not finished: it holds its Insight's capacity.
func IsRunning(ag *Agenda) bool { return IsAdmitted(ag) && !IsFinished(ag) }

// IsAccepted reports whether the Agenda's current generation passed validation and found
// every HandlerType it names.
func IsAccepted(ag *Agenda) bool {
	c := meta.FindStatusCondition(ag.Status.Conditions, AgendaAccepted)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == ag.Generation
}

// RerunPending reports whether spec.rerun asks for a rerun not yet acted on.
func RerunPending(ag *Agenda) bool {
	return ag.Spec.Rerun != nil && ag.Spec.Rerun.ID != ag.Status.ObservedRerunID
}

// IsFinal reports whether an operation in this state will not change again in this run:
// Succeeded, Failed, Skipped or Cancelled.
func (s OperationState) IsFinal() bool {
	switch s {
	case OperationSucceeded, OperationFailed, OperationSkipped, OperationCancelled:
		return true
	}
	return false
}
