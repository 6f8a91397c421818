package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SchedulingAlgorithm orders an Insight's pending Agendas.
// +kubebuilder:validation:Enum=FIFO;Fairness;Priority
type SchedulingAlgorithm string

const (
	// FIFO admits Agendas in order of arrival (POP's FirstInFirstOut).
	FIFO SchedulingAlgorithm = "FIFO"
	// Fairness shares capacity between customers by weight, FIFO within a customer
	// (POP's RoundRobin when all weights are equal).
	Fairness SchedulingAlgorithm = "Fairness"
	// Priority admits the highest spec.priority first, FIFO within a priority.
	Priority SchedulingAlgorithm = "Priority"
)

// CustomerWeight gives one customer a share of a Fairness Insight's capacity.
type CustomerWeight struct {
	// customer is the customer id (the namespace's pop.dev/customer label, or the
	// namespace name when unlabelled).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	Customer string `json:"customer"`

	// weight is the customer's share relative to the others; customers not listed weigh 1.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +required
	Weight int32 `json:"weight"`
}

// PriorityAging raises a waiting Agenda's effective priority over time so that low
// priorities do not starve behind a steady stream of high ones.
type PriorityAging struct {
	// interval is how long an Agenda waits for each step of increase.
	// +required
	Interval metav1.Duration `json:"interval"`

	// step is added to the effective priority after each interval of waiting.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:default=1
	// +optional
	Step int32 `json:"step,omitempty"`
}

// InsightSpec is a queue of Agendas and the rules that route Agendas into it.
// Matching fields combine with AND; a field left empty matches everything.
// +kubebuilder:validation:XValidation:rule="self.paused || self.capacity >= 1",message="capacity must be at least 1 unless the Insight is paused",fieldPath=".capacity"
// +kubebuilder:validation:XValidation:rule="!has(self.aging) || self.algorithm == 'Priority'",message="aging applies to the Priority algorithm only",fieldPath=".aging"
// +kubebuilder:validation:XValidation:rule="!has(self.customerWeights) || self.algorithm == 'Fairness'",message="customerWeights apply to the Fairness algorithm only",fieldPath=".customerWeights"
type InsightSpec struct {
	// algorithm orders pending Agendas: FIFO, Fairness or Priority.
	// +kubebuilder:default=FIFO
	// +optional
	Algorithm SchedulingAlgorithm `json:"algorithm,omitempty"`

	// capacity is the most Agendas admitted and unfinished at once: a hard concurrency
	// limit. Lowering it stops admissions until usage falls below it; nothing is preempted.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	// +kubebuilder:default=1
	// +optional
	Capacity *int32 `json:"capacity,omitempty"`

	// paused stops admissions; admitted Agendas run on.
	// +kubebuilder:default=false
	// +optional
	Paused bool `json:"paused,omitempty"`

	// default marks the catch-all Insight for Agendas that no other Insight matches.
	// +optional
	Default bool `json:"default,omitempty"`

	// precedence decides between several matching Insights: highest first, then the
	// Insight's name.
	// +kubebuilder:validation:Minimum=-1000
	// +kubebuilder:validation:Maximum=1000
	// +optional
	Precedence int32 `json:"precedence,omitempty"`

	// namespaceSelector selects the customer namespaces whose Agendas may use this Insight.
	// Empty selects only the Insight's own namespace; {} selects every namespace.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// agendaSelector matches Agenda labels.
	// +optional
	AgendaSelector *metav1.LabelSelector `json:"agendaSelector,omitempty"`

	// operationTypes matches Agendas with at least one operation of one of these types
	// (POP's operationType mapper).
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=set
	// +optional
	OperationTypes []string `json:"operationTypes,omitempty"`

	// operationNames matches Agendas with at least one operation of one of these names
	// (POP's operationName mapper).
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=63
	// +listType=set
	// +optional
	OperationNames []string `json:"operationNames,omitempty"`

	// params matches Agendas whose spec.params hold every listed key=value (POP's paramMap
	// mapper); values compare as strings.
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:Pattern=`^[^=]+=.*$`
	// +kubebuilder:validation:items:MaxLength=512
	// +listType=set
	// +optional
	Params []string `json:"params,omitempty"`

	// customerWeights give customers unequal shares under Fairness.
	// +kubebuilder:validation:MaxItems=1000
	// +listType=map
	// +listMapKey=customer
	// +optional
	CustomerWeights []CustomerWeight `json:"customerWeights,omitempty"`

	// aging raises waiting Agendas' priority over time under Priority.
	// +optional
	Aging *PriorityAging `json:"aging,omitempty"`

	// priorityClassName is given to the Pods of Agendas this Insight admitted: resource
	// priority once selected.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	PriorityClassName string `json:"priorityClassName,omitempty"`

	// defaultParallelism bounds how many operations of an Agenda this Insight admitted, its
	// fan-outs' generated ones included, are in progress at once (see the Agenda's
	// spec.parallelism), when the Agenda sets no spec.parallelism of its own. Unset:
	// MaxParallelism.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	DefaultParallelism *int32 `json:"defaultParallelism,omitempty"`
}

// CapacityOrDefault is spec.capacity, or its default 1 when unset (the API server defaults
// it; objects built in memory may not have been through it).
func (s *InsightSpec) CapacityOrDefault() int32 {
	if s.Capacity == nil {
		return 1
	}
	return *s.Capacity
}

// PendingAgenda is one Agenda at the head of an Insight's queue.
type PendingAgenda struct {
	// namespace of the Agenda.
	// +required
	Namespace string `json:"namespace"`
	// name of the Agenda.
	// +required
	Name string `json:"name"`
	// position is the 1-based place in admission order.
	// +required
	Position int32 `json:"position"`
	// since is when the Agenda joined the queue.
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
}

// InsightStatus is the observed state of an Insight's queue.
type InsightStatus struct {
	// observedGeneration is the generation the status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// pending is the number of Agendas waiting in the queue.
	// +optional
	Pending int32 `json:"pending"`

	// admitted is the number of admitted, unfinished Agendas.
	// +optional
	Admitted int32 `json:"admitted"`

	// oldestPendingSince is when the longest-waiting pending Agenda was queued.
	// +optional
	OldestPendingSince *metav1.Time `json:"oldestPendingSince,omitempty"`

	// head lists the next Agendas to be admitted, in order (at most 10), refreshed at most
	// once a second: positions without a write to every pending Agenda.
	// +kubebuilder:validation:MaxItems=10
	// +listType=atomic
	// +optional
	Head []PendingAgenda `json:"head,omitempty"`

	// conditions: Ready, Paused, AtCapacity.
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Insight is a priority-aware queue that admits whole Agendas up to its capacity.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ins,categories=pop
// +kubebuilder:printcolumn:name="Algorithm",type=string,JSONPath=`.spec.algorithm`
// +kubebuilder:printcolumn:name="Capacity",type=integer,JSONPath=`.spec.capacity`
// +kubebuilder:printcolumn:name="Pending",type=integer,JSONPath=`.status.pending`
// +kubebuilder:printcolumn:name="Admitted",type=integer,JSONPath=`.status.admitted`
// +kubebuilder:printcolumn:name="Paused",type=boolean,JSONPath=`.spec.paused`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Insight struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the queue's desired behaviour.
	// +required
	Spec InsightSpec `json:"spec"`

	// status is the queue's observed state.
	// +optional
	Status InsightStatus `json:"status,omitempty"`
}

// InsightList is a list of Insights.
// +kubebuilder:object:root=true
type InsightList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Insight `json:"items"`
}
