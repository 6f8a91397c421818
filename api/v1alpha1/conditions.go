package v1alpha1

// Labels and annotations POP reads and writes. The customer label is trusted only on
// namespaces, which customers cannot edit.
const (
	// CustomerLabel on a namespace names the customer (tenant) that owns it. Fairness shares
	// capacity by this id; a namespace without it counts as a customer named after itself.
	CustomerLabel = "pop.dev/customer"
	// AgendaLabel on a handler Pod names the Agenda it runs for.
	AgendaLabel = "pop.dev/agenda"
	// AgendaUIDLabel on a handler Pod gives its Agenda's UID: a name is shared by an Agenda
	// and one re-created under it while the old one's Pods remain, a UID is not.
	AgendaUIDLabel = "pop.dev/agenda-uid"
	// OperationLabel on a handler Pod names the operation it runs.
	OperationLabel = "pop.dev/operation"
	// AttemptLabel on a handler Pod gives the attempt number, starting at 1.
	AttemptLabel = "pop.dev/attempt"
	// ReportPayloadAnnotation is where POP-compatible handlers write their output.
	ReportPayloadAnnotation = "pop.report.payload"
	// ReportProgressAnnotation is where POP-compatible handlers write their progress (0–100).
	ReportProgressAnnotation = "pop.report.progress"
)

// Agenda condition types. Conditions are the contract; status.phase only summarises them.
const (
	// AgendaAccepted is True once the Agenda passed validation and every HandlerType it
	// names exists; False with the reason otherwise.
	AgendaAccepted = "Accepted"
	// AgendaQueued is True while the Agenda waits in an Insight's queue.
	AgendaQueued = "Queued"
	// AgendaAdmitted is True once the scheduler admitted the Agenda, and stays True after the
	// Agenda ends, until a rerun sends it back to its queue. An admitted Agenda holds a place
	// in its Insight's capacity until it finishes.
	AgendaAdmitted = "Admitted"
	// AgendaRunning is True while at least one operation is executing.
	AgendaRunning = "Running"
	// AgendaSucceeded is True when every operation completed successfully.
	AgendaSucceeded = "Succeeded"
	// AgendaFailed is True when an operation failed after its last attempt, or the Agenda was
	// stopped: cancelled, past its timeout, or deleted before it finished.
	AgendaFailed = "Failed"
	// AgendaCancelled is True when spec.cancel stopped the Agenda.
	AgendaCancelled = "Cancelled"
	// AgendaSuspended is True while spec.suspend keeps a running Agenda from starting Pods;
	// False (reason Resumed) once it was lifted.
	AgendaSuspended = "Suspended"
)

// Agenda condition reasons.
const (
	ReasonValid              = "Valid"
	ReasonInvalidSpec        = "InvalidSpec"
	ReasonHandlerTypeMissing = "HandlerTypeMissing"
	// ReasonTemplateMissing: the AgendaTemplate spec.template names exists in neither the
	// Agenda's namespace nor the operator's. The Agenda waits for it (not Accepted) for the
	// launch wait from its creation, then ends Failed with this reason.
	ReasonTemplateMissing      = "TemplateMissing"
	ReasonNoMatchingInsight    = "NoMatchingInsight"
	ReasonWaitingForCapacity   = "WaitingForCapacity"
	ReasonInsightPaused        = "InsightPaused"
	ReasonAdmittedByScheduler  = "AdmittedByScheduler"
	ReasonOperationsExecuting  = "OperationsExecuting"
	ReasonAllOperationsSucceed = "AllOperationsSucceeded"
	ReasonOperationsWaiting    = "OperationsWaiting"
	ReasonOperationFailed      = "OperationFailed"
	ReasonOperationTimedOut    = "OperationTimedOut"
	ReasonCancelled            = "Cancelled"
	ReasonTimeout              = "Timeout"
	ReasonFinished             = "Finished"
	ReasonPendingTooLong       = "PendingTooLong"
	ReasonRerunRequested       = "RerunRequested"
	ReasonSuspended            = "Suspended"
	ReasonResumed              = "Resumed"
	// ReasonDeleted ends an Agenda deleted before it finished (a finalizer may hold it a
	// while): its Pods are stopped and its Insight's capacity released at once.
	ReasonDeleted = "Deleted"
)

// Insight condition types.
const (
	// InsightReady is True when the Insight's spec is usable and the scheduler holds its queue.
	InsightReady = "Ready"
	// InsightPausedCondition is True while spec.paused stops admissions.
	InsightPausedCondition = "Paused"
	// InsightAtCapacity is True while admitted Agendas fill spec.capacity.
	InsightAtCapacity = "AtCapacity"
)

// HandlerType condition types.
const (
	// HandlerTypeReady is True when the HandlerType's spec is usable for building Pods.
	HandlerTypeReady = "Ready"
)

// CustomerOf is the customer owning a namespace: its pop.dev/customer label, else the
// namespace's name. Only the namespace is trusted, never an Agenda's own labels.
func CustomerOf(namespace string, namespaceLabels map[string]string) string {
	if id := namespaceLabels[CustomerLabel]; id != "" {
		return id
	}
	return namespace
}
