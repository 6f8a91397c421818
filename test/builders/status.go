package builders

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// Status setters: they write what the Agenda controller and the scheduler would have
// written, so that a test states the Agenda it starts from as data.

// UID sets metadata.uid.
func (w *AgendaWrapper) UID(uid string) *AgendaWrapper {
	w.ObjectMeta.UID = types.UID(uid)
	return w
}

// Generation sets metadata.generation.
func (w *AgendaWrapper) Generation(g int64) *AgendaWrapper {
	w.ObjectMeta.Generation = g
	return w
}

// Cancel sets spec.cancel.
func (w *AgendaWrapper) Cancel() *AgendaWrapper {
	w.Spec.Cancel = true
	return w
}

// Timeout sets spec.timeout.
func (w *AgendaWrapper) Timeout(d time.Duration) *AgendaWrapper {
	w.Spec.Timeout = &metav1.Duration{Duration: d}
	return w
}

// TTL sets spec.ttlSecondsAfterFinished.
func (w *AgendaWrapper) TTL(seconds int32) *AgendaWrapper {
	w.Spec.TTLSecondsAfterFinished = &seconds
	return w
}

// FailurePolicy sets spec.failurePolicy.
// Suspend sets spec.suspend.
func (w *AgendaWrapper) Suspend(on bool) *AgendaWrapper {
	w.Spec.Suspend = on
	return w
}

func (w *AgendaWrapper) FailurePolicy(p popv1.FailurePolicy) *AgendaWrapper {
	w.Spec.FailurePolicy = p
	return w
}

// Deleting sets metadata.deletionTimestamp, as a finalizer holding the Agenda leaves it.
func (w *AgendaWrapper) Deleting(at time.Time) *AgendaWrapper {
	w.DeletionTimestamp = &metav1.Time{Time: at}
	return w
}

// Condition sets a status condition, observed at the Agenda's generation. Its
// lastTransitionTime is left zero: compare conditions ignoring it.
func (w *AgendaWrapper) Condition(typ string, status bool, reason, message string) *AgendaWrapper {
	s := metav1.ConditionFalse
	if status {
		s = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&w.Status.Conditions, metav1.Condition{Type: typ, Status: s, Reason: reason,
		Message: message, ObservedGeneration: w.ObjectMeta.Generation})
	for i := range w.Status.Conditions {
		w.Status.Conditions[i].LastTransitionTime = metav1.Time{}
	}
	return w
}

// Accepted sets Accepted=True as the Agenda controller does for a valid spec whose
// HandlerTypes all exist.
func (w *AgendaWrapper) Accepted() *AgendaWrapper {
	return w.Condition(popv1.AgendaAccepted, true, popv1.ReasonValid, "spec is valid and every HandlerType exists")
}

// Admitted sets Admitted=True, status.insight and status.admissionTime as the scheduler does.
func (w *AgendaWrapper) Admitted(insight string, at time.Time) *AgendaWrapper {
	w.Status.Insight, w.Status.AdmissionTime = insight, &metav1.Time{Time: at}
	return w.Condition(popv1.AgendaAdmitted, true, popv1.ReasonAdmittedByScheduler, "admitted by Insight "+insight)
}

// Phase sets status.phase.
func (w *AgendaWrapper) Phase(p popv1.AgendaPhase) *AgendaWrapper {
	w.Status.Phase = p
	return w
}

// ObservedGeneration sets status.observedGeneration.
func (w *AgendaWrapper) ObservedGeneration(g int64) *AgendaWrapper {
	w.Status.ObservedGeneration = g
	return w
}

// StartedAt sets status.startTime.
func (w *AgendaWrapper) StartedAt(t time.Time) *AgendaWrapper {
	w.Status.StartTime = &metav1.Time{Time: t}
	return w
}

// CompletedAt sets status.completionTime.
func (w *AgendaWrapper) CompletedAt(t time.Time) *AgendaWrapper {
	w.Status.CompletionTime = &metav1.Time{Time: t}
	return w
}

// PercentComplete sets status.percentComplete.
func (w *AgendaWrapper) PercentComplete(p int32) *AgendaWrapper {
	w.Status.PercentComplete = p
	return w
}

// ObservedRerun sets status.observedRerunID.
func (w *AgendaWrapper) ObservedRerun(id string) *AgendaWrapper {
	w.Status.ObservedRerunID = id
	return w
}

// Ops sets status.operations.
func (w *AgendaWrapper) Ops(ops ...*OpStatusWrapper) *AgendaWrapper {
	w.Status.Operations = nil
	for _, o := range ops {
		w.Status.Operations = append(w.Status.Operations, o.OperationStatus)
	}
	return w
}

// Clone copies the wrapper, so that a test derives the expected Agenda from its input.
func (w *AgendaWrapper) Clone() *AgendaWrapper { return &AgendaWrapper{*w.DeepCopy()} }

// OpStatusWrapper builds one operation's status.
type OpStatusWrapper struct{ popv1.OperationStatus }

// OpStatus starts the status of operation name in state.
func OpStatus(name string, state popv1.OperationState) *OpStatusWrapper {
	return &OpStatusWrapper{popv1.OperationStatus{Name: name, State: state}}
}

// Obj returns the built operation status.
func (w *OpStatusWrapper) Obj() popv1.OperationStatus { return *w.DeepCopy() }

// Attempt sets the attempt number and its Pod.
func (w *OpStatusWrapper) Attempt(n int32, pod string) *OpStatusWrapper {
	w.Attempts, w.Pod = n, pod
	return w
}

// Failures sets the count of failed attempts.
func (w *OpStatusWrapper) Failures(n int32) *OpStatusWrapper {
	w.OperationStatus.Failures = n
	return w
}

// StartedAt sets startTime.
func (w *OpStatusWrapper) StartedAt(t time.Time) *OpStatusWrapper {
	w.StartTime = &metav1.Time{Time: t}
	return w
}

// CompletedAt sets completionTime.
func (w *OpStatusWrapper) CompletedAt(t time.Time) *OpStatusWrapper {
	w.CompletionTime = &metav1.Time{Time: t}
	return w
}

// NextAttemptAt sets nextAttemptTime.
func (w *OpStatusWrapper) NextAttemptAt(t time.Time) *OpStatusWrapper {
	w.NextAttemptTime = &metav1.MicroTime{Time: t}
	return w
}

// BlockedSince sets blockedSince.
func (w *OpStatusWrapper) BlockedSince(t time.Time) *OpStatusWrapper {
	w.OperationStatus.BlockedSince = &metav1.Time{Time: t}
	return w
}

// Output sets output.
func (w *OpStatusWrapper) Output(s string) *OpStatusWrapper {
	w.OperationStatus.Output = s
	return w
}

// Message sets message.
func (w *OpStatusWrapper) Message(s string) *OpStatusWrapper {
	w.OperationStatus.Message = s
	return w
}

// Progress sets progress.
func (w *OpStatusWrapper) Progress(p int32) *OpStatusWrapper {
	w.OperationStatus.Progress = p
	return w
}
