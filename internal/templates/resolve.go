package templates

import (
	"encoding/json"
	"errors"
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/refs"
)

// Field paths of an Agenda's template fields, as the webhook and the controller report them.
const (
	ArgumentsField  = "spec.arguments"
	ParametersField = "spec.parameters"
)

// ToFieldError turns a FieldError into a Kubernetes field error with its path, as the
// webhook and the controller report it; any other error becomes an internal one.
func ToFieldError(err error) *field.Error {
	var fe *FieldError
	if !errors.As(err, &fe) {
		return field.InternalError(field.NewPath("spec"), err)
	}
	if fe.Msg == "required" {
		return field.Required(field.NewPath(fe.Field), "")
	}
	return &field.Error{Type: field.ErrorTypeInvalid, Field: fe.Field, BadValue: field.OmitValueType{}, Detail: fe.Msg}
}

// Parameters converts a template's declared parameters to Bind's.
func Parameters(decl []popv1.TemplateParameter) []Parameter {
	out := make([]Parameter, len(decl))
	for i, d := range decl {
		out[i] = Parameter{Name: d.Name, Type: string(d.Type), Required: d.Required}
		if d.Default != nil {
			out[i].Default = json.RawMessage(d.Default.Raw)
		}
	}
	return out
}

// Defaults is the params object a template's operations see when every parameter takes its
// default, the required ones null: what the template's own validation builds the graph with.
func Defaults(decl []popv1.TemplateParameter) *apiextensionsv1.JSON {
	out := map[string]json.RawMessage{}
	for _, d := range decl {
		out[d.Name] = json.RawMessage("null")
		if d.Default != nil {
			out[d.Name] = json.RawMessage(d.Default.Raw)
		}
	}
	raw, _ := json.Marshal(out) // raw messages of valid JSON, or null
	return &apiextensionsv1.JSON{Raw: raw}
}

// Resolve is the spec an Agenda that names tpl runs: the template's operations; params are
// the Agenda's own spec.params with the bound arguments over them; failurePolicy and
// podCleanup are the template's when it sets them (the API server defaults them on every
// Agenda, so "not set on the Agenda" cannot be told), timeout and ttlSecondsAfterFinished
// the template's unless the Agenda sets its own. Template and arguments stay, as asked.
func Resolve(tpl *popv1.AgendaTemplateSpec, ag *popv1.AgendaSpec) (*popv1.AgendaSpec, error) {
	args, err := objectOf(ag.Arguments, ArgumentsField)
	if err != nil {
		return nil, err
	}
	bound, err := Bind(Parameters(tpl.Parameters), args, ArgumentsField)
	if err != nil {
		return nil, err
	}
	params, err := objectOf(ag.Params, "spec.params")
	if err != nil {
		return nil, err
	}
	for k, v := range bound {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, &FieldError{ArgumentsField + "." + k, err.Error()}
		}
		params[k] = b
	}
	out := ag.DeepCopy()
	out.Operations = make([]popv1.Operation, len(tpl.Operations))
	for i := range tpl.Operations {
		tpl.Operations[i].DeepCopyInto(&out.Operations[i])
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return nil, &FieldError{"spec.params", err.Error()}
	}
	out.Params = &apiextensionsv1.JSON{Raw: raw}
	fillFields(tpl, out)
	return out, nil
}

func fillFields(tpl *popv1.AgendaTemplateSpec, out *popv1.AgendaSpec) {
	if tpl.FailurePolicy != "" {
		out.FailurePolicy = tpl.FailurePolicy
	}
	if tpl.PodCleanup != "" {
		out.PodCleanup = tpl.PodCleanup
	}
	if out.Timeout == nil && tpl.Timeout != nil {
		out.Timeout = tpl.Timeout.DeepCopy()
	}
	if out.TTLSecondsAfterFinished == nil && tpl.TTLSecondsAfterFinished != nil {
		ttl := *tpl.TTLSecondsAfterFinished
		out.TTLSecondsAfterFinished = &ttl
	}
}

// objectOf decodes a free-form JSON object field into its members; absent or null is empty.
func objectOf(j *apiextensionsv1.JSON, field string) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	if j == nil || len(j.Raw) == 0 || string(j.Raw) == "null" {
		return out, nil
	}
	if _, err := refs.Decode(j.Raw); err != nil {
		return nil, &FieldError{field, "not JSON: " + err.Error()}
	}
	if err := json.Unmarshal(j.Raw, &out); err != nil {
		return nil, &FieldError{field, fmt.Sprintf("must be an object: %v", err)}
	}
	if len(out) > MaxParameters && field == ArgumentsField {
		return nil, &FieldError{field, fmt.Sprintf("%d arguments; at most %d", len(out), MaxParameters)}
	}
	return out, nil
}
