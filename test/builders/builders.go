// Package builders makes POP objects for tests with chainable calls instead of literals:
// MakeAgenda("a", ns).Op("probe", "echo").Obj().
package builders

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// JSON marshals v into an apiextensions JSON value; it panics on values json cannot encode.
func JSON(v any) *apiextensionsv1.JSON {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return &apiextensionsv1.JSON{Raw: raw}
}

// AgendaWrapper builds an Agenda.
type AgendaWrapper struct{ popv1.Agenda }

// MakeAgenda starts an Agenda with no operations.
func MakeAgenda(name, namespace string) *AgendaWrapper {
	return &AgendaWrapper{popv1.Agenda{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}}
}

// Obj returns the built Agenda.
func (w *AgendaWrapper) Obj() *popv1.Agenda { return w.DeepCopy() }

// Op appends an operation with an optional payload.
func (w *AgendaWrapper) Op(name, handlerType string, payload ...any) *AgendaWrapper {
	op := popv1.Operation{Name: name, Type: handlerType}
	if len(payload) > 0 {
		op.Payload = JSON(payload[0])
	}
	w.Spec.Operations = append(w.Spec.Operations, op)
	return w
}

// DependsOn sets dependsOn on the last operation added.
func (w *AgendaWrapper) DependsOn(names ...string) *AgendaWrapper {
	w.lastOp().DependsOn = names
	return w
}

// When sets the last operation's when condition.
func (w *AgendaWrapper) When(expr string) *AgendaWrapper {
	w.lastOp().When = expr
	return w
}

// ForEach sets the last operation's forEach: an array literal, or a reference string.
func (w *AgendaWrapper) ForEach(v any) *AgendaWrapper {
	w.lastOp().ForEach = JSON(v)
	return w
}

// FinallyOp marks the last operation finally.
func (w *AgendaWrapper) FinallyOp() *AgendaWrapper {
	w.lastOp().Finally = true
	return w
}

// Parallelism sets spec.parallelism.
func (w *AgendaWrapper) Parallelism(n int32) *AgendaWrapper {
	w.Spec.Parallelism = &n
	return w
}

// Params sets spec.params.
func (w *AgendaWrapper) Params(v any) *AgendaWrapper {
	w.Spec.Params = JSON(v)
	return w
}

// Priority sets spec.priority.
func (w *AgendaWrapper) Priority(p int32) *AgendaWrapper {
	w.Spec.Priority = p
	return w
}

// Label adds a label.
func (w *AgendaWrapper) Label(k, v string) *AgendaWrapper {
	if w.Labels == nil {
		w.Labels = map[string]string{}
	}
	w.Labels[k] = v
	return w
}

// Rerun sets spec.rerun.
func (w *AgendaWrapper) Rerun(id string, mode popv1.RerunMode, ops ...string) *AgendaWrapper {
	w.Spec.Rerun = &popv1.RerunSpec{ID: id, Mode: mode, Operations: ops}
	return w
}

func (w *AgendaWrapper) lastOp() *popv1.Operation {
	return &w.Spec.Operations[len(w.Spec.Operations)-1]
}

// InsightWrapper builds an Insight.
type InsightWrapper struct{ popv1.Insight }

// MakeInsight starts a FIFO Insight of capacity 1 that selects every namespace.
func MakeInsight(name, namespace string) *InsightWrapper {
	return &InsightWrapper{popv1.Insight{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: popv1.InsightSpec{
			Algorithm:         popv1.FIFO,
			Capacity:          ptr.To[int32](1),
			NamespaceSelector: &metav1.LabelSelector{},
		},
	}}
}

// Obj returns the built Insight.
func (w *InsightWrapper) Obj() *popv1.Insight { return w.DeepCopy() }

// Algorithm sets spec.algorithm.
func (w *InsightWrapper) Algorithm(a popv1.SchedulingAlgorithm) *InsightWrapper {
	w.Spec.Algorithm = a
	return w
}

// Capacity sets spec.capacity.
func (w *InsightWrapper) Capacity(c int32) *InsightWrapper {
	w.Spec.Capacity = &c
	return w
}

// Paused sets spec.paused.
func (w *InsightWrapper) Paused(p bool) *InsightWrapper {
	w.Spec.Paused = p
	return w
}

// Weight gives a customer a Fairness weight.
func (w *InsightWrapper) Weight(customer string, weight int32) *InsightWrapper {
	w.Spec.CustomerWeights = append(w.Spec.CustomerWeights, popv1.CustomerWeight{Customer: customer, Weight: weight})
	return w
}

// HandlerTypeWrapper builds a HandlerType.
type HandlerTypeWrapper struct{ popv1.HandlerType }

// MakeHandlerType starts a HandlerType running image.
func MakeHandlerType(name, namespace, image string) *HandlerTypeWrapper {
	return &HandlerTypeWrapper{popv1.HandlerType{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       popv1.HandlerTypeSpec{Image: image},
	}}
}

// Obj returns the built HandlerType.
func (w *HandlerTypeWrapper) Obj() *popv1.HandlerType { return w.DeepCopy() }

// Env adds an environment variable.
func (w *HandlerTypeWrapper) Env(name, value string) *HandlerTypeWrapper {
	w.Spec.Env = append(w.Spec.Env, corev1.EnvVar{Name: name, Value: value})
	return w
}

// Outputs sets spec.outputs.
func (w *HandlerTypeWrapper) Outputs(mode popv1.OutputMode, maxBytes int32) *HandlerTypeWrapper {
	w.Spec.Outputs = &popv1.OutputSpec{Mode: mode, MaxBytes: maxBytes}
	return w
}

// ServiceAccount sets spec.serviceAccountName.
func (w *HandlerTypeWrapper) ServiceAccount(name string) *HandlerTypeWrapper {
	w.Spec.ServiceAccountName = name
	return w
}
