package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TemplateAnnotation on an Agenda records the AgendaTemplate its operations were resolved
// from, as JSON (TemplateRef). The controller writes it in the same Update as the resolved
// spec, so that the record and the operations it describes are stored together or not at
// all (a status field would take a second write).
const TemplateAnnotation = "pop.dev/template"

// TemplateRef names the exact version of a template an Agenda was resolved from.
type TemplateRef struct {
	Namespace       string `json:"namespace"`
	Name            string `json:"name"`
	UID             string `json:"uid"`
	ResourceVersion string `json:"resourceVersion"`
}

// ParameterType is the JSON type a template parameter accepts.
// +kubebuilder:validation:Enum=string;number;integer;boolean;object;array
type ParameterType string

// TemplateParameter is one parameter an AgendaTemplate declares; its value reaches the
// operations as @<agenda.params::/name>.
type TemplateParameter struct {
	// name is the parameter's key in the Agenda's spec.arguments and spec.params.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][-A-Za-z0-9_]*$`
	// +required
	Name string `json:"name"`

	// type is the JSON type the value must have; any JSON value when absent.
	// +optional
	Type ParameterType `json:"type,omitempty"`

	// required parameters must be given in spec.arguments; they have no default.
	// +optional
	Required bool `json:"required,omitempty"`

	// default is the value used when the argument is left out.
	// +optional
	Default *apiextensionsv1.JSON `json:"default,omitempty"`

	// description says what the parameter is for.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Description string `json:"description,omitempty"`
}

// AgendaTemplateSpec is a reusable workflow: the operations of an Agenda, and the
// parameters an Agenda that names the template gives as spec.arguments.
type AgendaTemplateSpec struct {
	// parameters are what an Agenda may or must give in spec.arguments; at most 64.
	// +kubebuilder:validation:MaxItems=64
	// +listType=map
	// +listMapKey=name
	// +optional
	Parameters []TemplateParameter `json:"parameters,omitempty"`

	// operations are the workflow's steps, as in an Agenda.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=10000
	// +listType=map
	// +listMapKey=name
	// +required
	Operations []Operation `json:"operations"`

	// failurePolicy, when set, is the Agenda's: it is part of what the workflow means.
	// +optional
	FailurePolicy FailurePolicy `json:"failurePolicy,omitempty"`

	// podCleanup, when set, is the Agenda's.
	// +optional
	PodCleanup PodCleanup `json:"podCleanup,omitempty"`

	// timeout is the Agenda's unless the Agenda sets its own.
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// ttlSecondsAfterFinished is the Agenda's unless the Agenda sets its own.
	// +kubebuilder:validation:Minimum=0
	// +optional
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty"`
}

// AgendaTemplate is a workflow Agendas instantiate by name with arguments. It is looked up
// in the Agenda's namespace first, then in the operator's namespace (cluster-wide
// defaults), once, before the Agenda is accepted: the resolved operations are written into
// the Agenda, so a later change to the template does not change it.
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=agt,categories=pop
// +kubebuilder:printcolumn:name="FailurePolicy",type=string,JSONPath=`.spec.failurePolicy`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AgendaTemplate struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the workflow and its parameters.
	// +required
	Spec AgendaTemplateSpec `json:"spec"`
}

// AgendaTemplateList is a list of AgendaTemplates.
// +kubebuilder:object:root=true
type AgendaTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AgendaTemplate `json:"items"`
}
