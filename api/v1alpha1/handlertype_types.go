package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// OutputMode says where a handler leaves its output.
// +kubebuilder:validation:Enum=TerminationMessage;Annotation
type OutputMode string

const (
	// OutputTerminationMessage reads the container's termination message (a JSON value,
	// at most 4096 bytes: the kubelet's own limit).
	OutputTerminationMessage OutputMode = "TerminationMessage"
	// OutputAnnotation reads the Pod's pop.report.payload annotation, as the original POP did.
	OutputAnnotation OutputMode = "Annotation"
)

// OutputSpec says how the operator reads a handler's output and progress.
type OutputSpec struct {
	// mode is where the handler writes its output: TerminationMessage (default) or
	// Annotation (the original POP's pop.report.payload annotation; the Pod then needs a
	// service-account token allowed to patch itself).
	// +kubebuilder:default=TerminationMessage
	// +optional
	Mode OutputMode `json:"mode,omitempty"`

	// maxBytes bounds the output kept for one operation (in the Agenda's status, then in an
	// OperationShard). Larger outputs fail the operation.
	// +kubebuilder:validation:Minimum=2
	// +kubebuilder:validation:Maximum=4096
	// +kubebuilder:default=1024
	// +optional
	MaxBytes int32 `json:"maxBytes,omitempty"`
}

// BackoffSpec is an exponential backoff between attempts.
type BackoffSpec struct {
	// initial is the wait before the second attempt.
	// +kubebuilder:default="10s"
	// +optional
	Initial *metav1.Duration `json:"initial,omitempty"`

	// factor multiplies the wait after each failed attempt.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10
	// +kubebuilder:default=2
	// +optional
	Factor int32 `json:"factor,omitempty"`

	// max caps the wait between attempts.
	// +kubebuilder:default="5m"
	// +optional
	Max *metav1.Duration `json:"max,omitempty"`
}

// RetrySpec says how often and how patiently a failed operation is retried.
type RetrySpec struct {
	// limit is the number of retries after the first attempt (0 = no retry).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +kubebuilder:default=0
	// +optional
	Limit int32 `json:"limit,omitempty"`

	// backoff is the wait between attempts.
	// +optional
	Backoff *BackoffSpec `json:"backoff,omitempty"`
}

// HandlerTypeSpec registers an operation type: the container that runs it and how.
// +kubebuilder:validation:XValidation:rule="!has(self.outputs) || self.outputs.mode != 'Annotation' || has(self.serviceAccountName)",message="outputs.mode Annotation needs serviceAccountName: the handler patches its own Pod",fieldPath=".outputs.mode"
type HandlerTypeSpec struct {
	// image is the container image that runs operations of this type.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +required
	Image string `json:"image"`

	// imagePullPolicy is the container's pull policy; Kubernetes' default when empty.
	// +optional
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`

	// command overrides the image's entrypoint.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Command []string `json:"command,omitempty"`

	// args are the arguments to the entrypoint.
	// +kubebuilder:validation:MaxItems=256
	// +optional
	Args []string `json:"args,omitempty"`

	// env is added to the handler container after POP's own variables (POP_PAYLOAD, …),
	// which cannot be overridden.
	// +kubebuilder:validation:MaxItems=128
	// +listType=map
	// +listMapKey=name
	// +optional
	Env []corev1.EnvVar `json:"env,omitempty"`

	// resources are the handler container's requests and limits: handlers control their
	// CPU requirements. An Agenda operation may override them. The cpu and memory requests
	// may not exceed their limits (a rule over every resource name costs more than the API
	// server allows; the API server refuses the Pods of any other).
	// +kubebuilder:validation:XValidation:rule="!has(self.requests) || !has(self.limits) || !('cpu' in self.requests) || !('cpu' in self.limits) || quantity(string(self.requests['cpu'])).compareTo(quantity(string(self.limits['cpu']))) <= 0",message="requests must not exceed limits: cpu"
	// +kubebuilder:validation:XValidation:rule="!has(self.requests) || !has(self.limits) || !('memory' in self.requests) || !('memory' in self.limits) || quantity(string(self.requests['memory'])).compareTo(quantity(string(self.limits['memory']))) <= 0",message="requests must not exceed limits: memory"
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// serviceAccountName runs handler Pods under this service account of the Agenda's
	// namespace, and only then mounts its token. Empty: the namespace's default account
	// without a token.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// nodeSelector constrains handler Pods to matching nodes.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// tolerations are given to handler Pods.
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// affinity is given to handler Pods.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`

	// timeout is the default limit on one attempt of an operation of this type, from its
	// Pod's creation; none when empty, else at least 1s (a Pod's activeDeadlineSeconds
	// counts whole seconds, and 0 is refused). An Agenda operation may override it.
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s')",message="must be at least 1s: a Pod's activeDeadlineSeconds counts whole seconds"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// pendingTimeout fails an attempt whose Pod stays Pending (unschedulable, image pull
	// errors) this long, with the reason in the operation's message.
	// +kubebuilder:default="5m"
	// +optional
	PendingTimeout *metav1.Duration `json:"pendingTimeout,omitempty"`

	// retries is the default retry policy for operations of this type.
	// +optional
	Retries *RetrySpec `json:"retries,omitempty"`

	// outputs says how the handler's output and progress are read.
	// +optional
	Outputs *OutputSpec `json:"outputs,omitempty"`
}

// HandlerTypeStatus is the observed state of a HandlerType.
type HandlerTypeStatus struct {
	// observedGeneration is the generation the status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready.
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// HandlerType registers an operation type. It is looked up in the Agenda's namespace first,
// then in the operator's namespace (cluster-wide defaults).
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ht,categories=pop
// +kubebuilder:printcolumn:name="Image",type=string,JSONPath=`.spec.image`
// +kubebuilder:printcolumn:name="Outputs",type=string,JSONPath=`.spec.outputs.mode`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type HandlerType struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired handler.
	// +required
	Spec HandlerTypeSpec `json:"spec"`

	// status is the observed state.
	// +optional
	Status HandlerTypeStatus `json:"status,omitempty"`
}

// HandlerTypeList is a list of HandlerTypes.
// +kubebuilder:object:root=true
type HandlerTypeList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []HandlerType `json:"items"`
}
