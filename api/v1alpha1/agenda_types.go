package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MaxOperations is the most operations one Agenda's spec may hold. The status does not
// grow with them (finished operations are archived in OperationShards, docs/status-layout.md);
// the spec does, and is bounded by MaxSpecBytes.
const MaxOperations = 10000

// MaxGeneratedOperations bounds the operations an Agenda's fan-outs (forEach) generate,
// all groups together: each has its own status entry (archived once finished) and Pods
// (docs/workflow-language.md, Fan-out).
const MaxGeneratedOperations = 10000

// MaxParallelism is the most operations of one Agenda in progress at once, and the bound
// when neither spec.parallelism nor the Insight's defaultParallelism sets one: the status
// lists every operation in progress, so this bounds its size (docs/status-layout.md).
const MaxParallelism = 1000

// MaxSpecBytes bounds an Agenda's spec as JSON: the admission webhook refuses a larger one,
// so that spec and status together stay under etcd's request limit (docs/status-layout.md).
const MaxSpecBytes = 512 * 1024

// Operation is one step of an Agenda, run in its own Pod.
type Operation struct {
	// name identifies the operation within the Agenda; other operations reference its
	// output as @<name.out>.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_]*[A-Za-z0-9])?$`
	// +required
	Name string `json:"name"`

	// type names the HandlerType that runs the operation.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	// +required
	Type string `json:"type"`

	// payload is the handler's input: any JSON. References such as @<probe.out::/duration>
	// are resolved before the Pod starts.
	// +optional
	Payload *apiextensionsv1.JSON `json:"payload,omitempty"`

	// params are the operation's free-form parameters, as in the original POP; a
	// comma-separated params.dependsOn adds dependencies like dependsOn does.
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Params *apiextensionsv1.JSON `json:"params,omitempty"`

	// dependsOn names operations that must succeed before this one starts, in addition to
	// every operation whose output the payload references.
	// +kubebuilder:validation:MaxItems=1000
	// +kubebuilder:validation:items:MaxLength=63
	// +listType=set
	// +optional
	DependsOn []string `json:"dependsOn,omitempty"`

	// after names operations that must end with a given outcome before this one starts:
	// Succeeded (the default, as dependsOn), Failed, Skipped or Finished (any end). One that
	// ended otherwise skips this operation. Under FailFast an operation with after is not
	// skipped by another's failure: it is a cleanup or compensation step.
	// +kubebuilder:validation:MaxItems=1000
	// +listType=map
	// +listMapKey=operation
	// +optional
	After []Requirement `json:"after,omitempty"`

	// finally makes this an exit operation: it starts once every operation that is not
	// finally ended, whatever the outcome, and its own outcome does not decide the
	// Agenda's phase. No other operation may depend on it unless it is finally too.
	// +optional
	Finally bool `json:"finally,omitempty"`

	// when is a condition (a CEL expression) the operation runs under: false, it is Skipped,
	// which does not fail the Agenda. It reads ops.<name>.phase and ops.<name>.output of the
	// operations it names, which become dependencies that must end (not succeed) first, and
	// params, the Agenda's spec.params. An evaluation error fails the operation
	// (docs/workflow-language.md).
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	When string `json:"when,omitempty"`

	// forEach fans the operation out over a JSON array (issue 16): a literal array (at most
	// 1,000 items) or a whole reference such as "@<scan.out::/segments>" or
	// "@<agenda.params::/files>", resolved when the operation is ready (the operation it
	// reads must succeed first). One operation is generated per item, named name[0],
	// name[1], …; each reads @<item>, @<item::/ptr> and @<pop.index> in its payload and has
	// its own state, retries and Pods. Dependents read @<name.out> as the array of the
	// items' outputs in order (docs/workflow-language.md, Fan-out).
	// +optional
	ForEach *apiextensionsv1.JSON `json:"forEach,omitempty"`

	// retries overrides the HandlerType's retry limit for this operation.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	Retries *int32 `json:"retries,omitempty"`

	// retryPolicy says which failed attempts may be retried; the number of retries stays
	// retries (or the HandlerType's). Without it every failure is retried, as before.
	// +optional
	RetryPolicy *RetryPolicy `json:"retryPolicy,omitempty"`

	// timeout overrides the HandlerType's limit on one attempt; at least 1s (a Pod's
	// activeDeadlineSeconds counts whole seconds, and 0 is refused).
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s')",message="must be at least 1s: a Pod's activeDeadlineSeconds counts whole seconds"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// resources override the HandlerType's container resources for this operation; no
	// request may exceed its limit (the webhook checks: a CEL rule over 1,000 operations'
	// maps costs more than the API server allows).
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
}

// Outcome is how a dependency must have ended.
// +kubebuilder:validation:Enum=Succeeded;Failed;Skipped;Finished
type Outcome string

const (
	OutcomeSucceeded Outcome = "Succeeded"
	OutcomeFailed    Outcome = "Failed"
	OutcomeSkipped   Outcome = "Skipped"
	// OutcomeFinished is any end: Succeeded, Failed, Skipped or Cancelled.
	OutcomeFinished Outcome = "Finished"
)

// Requirement is one dependency with the outcome it must reach.
type Requirement struct {
	// operation names the dependency.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	Operation string `json:"operation"`

	// outcome is what it must have come to; Succeeded by default.
	// +kubebuilder:default=Succeeded
	// +optional
	Outcome Outcome `json:"outcome,omitempty"`
}

// RetryClass is the kind of a failed attempt (docs/workflow-language.md, Retry policy).
// +kubebuilder:validation:Enum=ExitCode;OOMKilled;Disrupted;TimedOut;PodRefused;Any
type RetryClass string

// RetryPolicy says which failed attempts of an operation may be retried.
type RetryPolicy struct {
	// retryOn lists the classes of failure to retry: ExitCode, OOMKilled, Disrupted,
	// TimedOut, PodRefused, or Any; empty retries all.
	// +kubebuilder:validation:MaxItems=6
	// +listType=set
	// +optional
	RetryOn []RetryClass `json:"retryOn,omitempty"`

	// neverRetryExitCodes are exit codes that end the operation at once, whatever retryOn
	// says ("this input will never work"); they do not apply to disruptions.
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:Minimum=1
	// +kubebuilder:validation:items:Maximum=255
	// +listType=set
	// +optional
	NeverRetryExitCodes []int32 `json:"neverRetryExitCodes,omitempty"`
}

// RerunMode says which operations a rerun resets.
// +kubebuilder:validation:Enum=All;Operations;FromFailure
type RerunMode string

const (
	// RerunAll resets every operation.
	RerunAll RerunMode = "All"
	// RerunOperations resets the named operations and, cascading, all their dependents.
	RerunOperations RerunMode = "Operations"
	// RerunFromFailure resets failed and not-yet-run operations, keeping succeeded ones.
	RerunFromFailure RerunMode = "FromFailure"
)

// RerunSpec requests a rerun declaratively: each new id runs once.
// +kubebuilder:validation:XValidation:rule="self.mode != 'Operations' || (has(self.operations) && size(self.operations) > 0)",message="mode Operations needs at least one operation",fieldPath=".operations"
type RerunSpec struct {
	// id identifies this request; set a new value to rerun again. The controller records
	// the last id it acted on in status.observedRerunID.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	ID string `json:"id"`

	// mode is what to reset: All, Operations (with their dependents) or FromFailure.
	// +kubebuilder:default=FromFailure
	// +optional
	Mode RerunMode `json:"mode,omitempty"`

	// operations are the operations to reset when mode is Operations.
	// +kubebuilder:validation:MaxItems=1000
	// +kubebuilder:validation:items:MaxLength=63
	// +listType=set
	// +optional
	Operations []string `json:"operations,omitempty"`
}

// FailurePolicy says what happens to the rest of an Agenda when an operation fails.
// +kubebuilder:validation:Enum=FailFast;ContinueIndependent
type FailurePolicy string

const (
	// FailFast starts no new operation once one failed (the original POP's behaviour);
	// running operations finish, the rest are Skipped.
	FailFast FailurePolicy = "FailFast"
	// ContinueIndependent skips only the operations that need the failed one's output (a
	// plain reference or dependsOn) and runs every other, those reading it only through
	// optional references (@<op.out?>) included, with null or their defaults.
	ContinueIndependent FailurePolicy = "ContinueIndependent"
)

// PodCleanup says which handler Pods are deleted when an Agenda finishes.
// +kubebuilder:validation:Enum=KeepFailed;KeepAll;DeleteAll
type PodCleanup string

const (
	// KeepFailed deletes succeeded Pods and keeps failed ones for their logs.
	KeepFailed PodCleanup = "KeepFailed"
	// KeepAll keeps every Pod until the Agenda is deleted.
	KeepAll PodCleanup = "KeepAll"
	// DeleteAll deletes every Pod.
	DeleteAll PodCleanup = "DeleteAll"
)

// AgendaSpec is a workflow: a DAG of operations and the parameters they share.
// +kubebuilder:validation:XValidation:rule="has(self.operations) || has(self.template)",message="give operations or a template",fieldPath=".operations",reason="FieldValueRequired"
type AgendaSpec struct {
	// params are the Agenda's parameters, referenced as @<agenda.params::/key>; the
	// params defaultInsight and dependsOn keep their original POP meaning.
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Params *apiextensionsv1.JSON `json:"params,omitempty"`

	// operations are the steps of the workflow; names are unique. Required unless template
	// is given, in which case the controller writes the template's operations here.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=10000
	// +listType=map
	// +listMapKey=name
	// +optional
	Operations []Operation `json:"operations,omitempty"`

	// template names an AgendaTemplate, looked up in the Agenda's namespace, then in the
	// operator's. Before accepting the Agenda the controller binds arguments to the
	// template's parameters and writes the template's operations into operations and the
	// bound values into params, once: a later change to the template changes no Agenda
	// made from it. The pop.dev/template annotation records which version was used. An
	// Agenda gives operations or a template, not both.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	// +optional
	Template string `json:"template,omitempty"`

	// arguments are the values of the template's parameters, by name; defaults fill those
	// left out. Only with template.
	// +kubebuilder:validation:Type=object
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Arguments *apiextensionsv1.JSON `json:"arguments,omitempty"`

	// priority orders the Agenda in a Priority Insight: higher first.
	// +kubebuilder:validation:Minimum=-1000000
	// +kubebuilder:validation:Maximum=1000000
	// +kubebuilder:default=0
	// +optional
	Priority int32 `json:"priority"`

	// insight names the Insight to queue in, bypassing matching: "name" looks in the
	// Agenda's namespace, then in the operator's; "namespace/name" is explicit. The Insight's
	// namespaceSelector must still select the Agenda's namespace.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Insight string `json:"insight,omitempty"`

	// cancel stops the Agenda: pending, it leaves its queue; running, its Pods are deleted.
	// The Agenda then ends Failed with reason Cancelled. It cannot be undone, only rerun.
	// +optional
	Cancel bool `json:"cancel,omitempty"`

	// suspend, while true, starts no new Pod: running ones finish and their outcomes are
	// recorded, retries and ready operations wait, and the Suspended condition says so.
	// Setting it back to false resumes where the Agenda stood. A suspended Agenda stays
	// admitted (it keeps its place in its Insight's capacity) and its timeout keeps running.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// parallelism bounds how many of the Agenda's operations, generated ones included, are in
	// progress at once: with a live Pod, waiting for a retry's backoff, or kept from starting
	// (HandlerType unavailable, Pod refused); ready operations start in order until the limit.
	// Unset: the Insight's defaultParallelism, else MaxParallelism.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	Parallelism *int32 `json:"parallelism,omitempty"`

	// rerun requests a rerun of a finished Agenda.
	// +optional
	Rerun *RerunSpec `json:"rerun,omitempty"`

	// timeout bounds the whole run, from admission to the end of the last operation; on
	// expiry running Pods are deleted and the Agenda fails with reason Timeout.
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// failurePolicy is FailFast (default) or ContinueIndependent.
	// +kubebuilder:default=FailFast
	// +optional
	FailurePolicy FailurePolicy `json:"failurePolicy,omitempty"`

	// podCleanup is which Pods are deleted when the Agenda finishes: KeepFailed (default),
	// KeepAll or DeleteAll.
	// +kubebuilder:default=KeepFailed
	// +optional
	PodCleanup PodCleanup `json:"podCleanup,omitempty"`

	// ttlSecondsAfterFinished deletes the Agenda (and its Pods) this long after it finished.
	// +kubebuilder:validation:Minimum=0
	// +optional
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty"`
}

// AgendaPhase summarises an Agenda's conditions for printer columns.
// +kubebuilder:validation:Enum=Invalid;Pending;Queued;Running;Succeeded;Failed;Cancelled
type AgendaPhase string

const (
	PhaseInvalid   AgendaPhase = "Invalid"
	PhasePending   AgendaPhase = "Pending"
	PhaseQueued    AgendaPhase = "Queued"
	PhaseRunning   AgendaPhase = "Running"
	PhaseSucceeded AgendaPhase = "Succeeded"
	PhaseFailed    AgendaPhase = "Failed"
	PhaseCancelled AgendaPhase = "Cancelled"
)

// OperationState is where one operation stands.
// +kubebuilder:validation:Enum=Waiting;Executing;Succeeded;Failed;Skipped;Cancelled
type OperationState string

const (
	// OperationWaiting: its dependencies are not all complete yet, or it waits for a retry.
	OperationWaiting OperationState = "Waiting"
	// OperationExecuting: a Pod of its current attempt exists.
	OperationExecuting OperationState = "Executing"
	// OperationSucceeded: its output is recorded.
	OperationSucceeded OperationState = "Succeeded"
	// OperationFailed: its last attempt failed.
	OperationFailed OperationState = "Failed"
	// OperationSkipped: it will never run: its when condition was false, an operation it
	// needs failed or was skipped, or, under FailFast, any operation failed before it started.
	OperationSkipped OperationState = "Skipped"
	// OperationCancelled: the Agenda was stopped before the operation completed: cancelled
	// (before or after admission), past its timeout, or deleted.
	OperationCancelled OperationState = "Cancelled"
)

// OperationStatus is the observed state of one operation.
type OperationStatus struct {
	// name is the operation's name.
	// +required
	Name string `json:"name"`

	// state is Waiting, Executing, Succeeded, Failed or Skipped.
	// +required
	State OperationState `json:"state"`

	// attempts is the number of Pods started for the operation so far, over all reruns;
	// it numbers the Pods, so it never goes back.
	// +optional
	Attempts int32 `json:"attempts,omitempty"`

	// failures is the number of failed attempts since the operation last started afresh
	// (a rerun resets it); a retry happens while it does not exceed the retry limit.
	// +optional
	Failures int32 `json:"failures,omitempty"`

	// pod is the name of the current attempt's Pod.
	// +optional
	Pod string `json:"pod,omitempty"`

	// startTime is when the current attempt's Pod was created.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`

	// completionTime is when the operation reached Succeeded, Failed or Skipped.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`

	// nextAttemptTime is when a retry waiting for its backoff will start, to the
	// microsecond: whole seconds would cut a 1s backoff by up to all of it.
	// +optional
	NextAttemptTime *metav1.MicroTime `json:"nextAttemptTime,omitempty"`

	// blockedSince is when the operation, ready to start, was first kept from starting: its
	// HandlerType missing or not Ready, or its Pod refused by the API server for a reason
	// that may pass (quota). Once blocked for the launch wait (default 5m) it fails.
	// +optional
	BlockedSince *metav1.Time `json:"blockedSince,omitempty"`

	// progress is the handler's reported progress, 0–100.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	Progress int32 `json:"progress,omitempty"`

	// output is the handler's output as JSON text, bounded by the HandlerType's
	// outputs.maxBytes. It is text, not a JSON field, so that the API server keeps it byte
	// for byte (it drops null-valued keys from free-form JSON fields).
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Output string `json:"output,omitempty"`

	// message explains the state, e.g. why an attempt failed.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Message string `json:"message,omitempty"`

	// items is, for a fan-out's own entry, the number of operations it generated (name[0] to
	// name[items-1]); those still waiting with nothing recorded may be absent from the status.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Items int32 `json:"items,omitempty"`
}

// AgendaStatus is the observed state of an Agenda.
type AgendaStatus struct {
	// observedGeneration is the generation the status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// phase summarises the conditions: Invalid, Pending, Queued, Running, Succeeded, Failed
	// or Cancelled.
	// +optional
	Phase AgendaPhase `json:"phase,omitempty"`

	// conditions are the contract: Accepted, Queued, Admitted, Running, Succeeded, Failed,
	// Cancelled.
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// insight is the Insight the Agenda is queued in or was admitted by.
	// +optional
	Insight string `json:"insight,omitempty"`

	// queuePosition is the Agenda's 1-based place in its Insight's queue while pending, as
	// of positionTime. To bound the writes it costs, the scheduler rewrites it only when it
	// moves to another bucket (exact up to 10, then by its leading digit: 10-19, 20-29, …,
	// 100-199, …) and at most once per positionRefresh (docs/scheduling.md); it is removed
	// on admission.
	// +optional
	QueuePosition *int32 `json:"queuePosition,omitempty"`

	// positionTime is when queuePosition and estimatedAdmissionTime were computed.
	// +optional
	PositionTime *metav1.Time `json:"positionTime,omitempty"`

	// estimatedAdmissionTime is when the Agenda is expected to be admitted: its position
	// divided by the Insight's recent admission rate, from positionTime. Absent while the
	// Insight has admitted too little to measure a rate, or is paused. It is an estimate:
	// a later Agenda of higher priority, or of a customer owed its Fairness share, still
	// goes first.
	// +optional
	EstimatedAdmissionTime *metav1.Time `json:"estimatedAdmissionTime,omitempty"`

	// admissionTime is when the scheduler admitted the Agenda.
	// +optional
	AdmissionTime *metav1.Time `json:"admissionTime,omitempty"`

	// startTime is when the first operation's Pod was created.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`

	// completionTime is when the Agenda succeeded, failed or was cancelled.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`

	// percentComplete is the share of operations that succeeded, executing ones counted by
	// their progress; failed, skipped and cancelled ones count 0, so only a Succeeded Agenda
	// reads 100.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	PercentComplete int32 `json:"percentComplete"`

	// observedRerunID is the spec.rerun.id last acted on.
	// +optional
	ObservedRerunID string `json:"observedRerunID,omitempty"`

	// operations is the state of each operation: the spec's, in spec order, then the
	// operations fan-outs generated (encode[0], encode[1], …), group by group in item order.
	// A fan-out's own entry (encode) is Executing while its items run and ends Succeeded
	// when all of them succeeded or were skipped, Failed otherwise.
	//
	// It lists the operations not archived (docs/status-layout.md): the finished ones are moved
	// in batches to OperationShards (see shards), and in an Agenda of more than
	// InlineWaitingAbove operations those still waiting with nothing recorded are left out. Read
	// the whole list with archive.Load (popctl get shows it); counts sums it up.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=4000
	// +optional
	Operations []OperationStatus `json:"operations,omitempty"`

	// shards is the number of OperationShards holding this Agenda's archived operations,
	// named by ShardName from index 0.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Shards int32 `json:"shards,omitempty"`

	// counts counts all of the Agenda's operations by state, the archived ones included.
	// +optional
	Counts *OperationCounts `json:"counts,omitempty"`
}

// Agenda is a workflow: a DAG of operations admitted as a whole by an Insight, each
// operation run in its own Pod once the values it references exist. Its namespace is the
// customer.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ag,categories=pop
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Insight",type=string,JSONPath=`.status.insight`
// +kubebuilder:printcolumn:name="Progress",type=integer,JSONPath=`.status.percentComplete`
// +kubebuilder:printcolumn:name="Priority",type=integer,JSONPath=`.spec.priority`,priority=1
// +kubebuilder:printcolumn:name="Position",type=integer,JSONPath=`.status.queuePosition`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Agenda struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the workflow.
	// +required
	Spec AgendaSpec `json:"spec"`

	// status is the workflow's observed state.
	// +optional
	Status AgendaStatus `json:"status,omitempty"`
}

// AgendaList is a list of Agendas.
// +kubebuilder:object:root=true
type AgendaList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Agenda `json:"items"`
}
