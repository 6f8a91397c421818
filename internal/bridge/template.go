package bridge

import (
	"encoding/json"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/popjson"
	"github.com/pop-operator/pop/internal/templates"
)

// templatedAgenda is the Agenda of a message: the original POP's JSON, which may name an
// AgendaTemplate with arguments instead of carrying operations.
type templatedAgenda struct {
	popjson.Agenda
	Template  string          `json:"template,omitempty"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
}

// spec is the Agenda spec the message asks for. A template and operations together, or
// arguments without a template, are refused; the arguments must be an object of at most
// templates.MaxParameters members. Their fit to the template's parameters is the
// webhook's to judge when the Agenda is created (a refusal there dead-letters the message).
func (a *templatedAgenda) spec(prefix *field.Path) (popv1.AgendaSpec, *Rejection) {
	spec := a.Spec()
	at := func(name string) string { return fieldName(prefix, name) }
	switch {
	case a.Template == "" && len(a.Arguments) > 0:
		return spec, reject(RejectInvalidAgenda, "%s: only with %s", at("arguments"), at("template"))
	case a.Template == "":
		return spec, nil
	case a.Operations != nil:
		return spec, reject(RejectInvalidAgenda, "%s: give operations or %s, not both", at("operations"), at("template"))
	}
	if errs := validation.IsDNS1123Subdomain(a.Template); len(errs) > 0 {
		return spec, reject(RejectInvalidAgenda, "%s: %s", at("template"), strings.Join(errs, "; "))
	}
	spec.Template = a.Template
	if len(a.Arguments) == 0 || string(a.Arguments) == "null" {
		return spec, nil
	}
	var args map[string]json.RawMessage
	if err := json.Unmarshal(a.Arguments, &args); err != nil {
		return spec, reject(RejectInvalidAgenda, "%s: must be an object: %v", at("arguments"), err)
	}
	if len(args) > templates.MaxParameters {
		return spec, reject(RejectInvalidAgenda, "%s: %d arguments; at most %d", at("arguments"), len(args), templates.MaxParameters)
	}
	spec.Arguments = &apiextensionsv1.JSON{Raw: a.Arguments}
	return spec, nil
}

// fieldName is a message field's path: under "agenda." in an envelope, bare otherwise.
func fieldName(prefix *field.Path, name string) string {
	if prefix == nil {
		return name
	}
	return prefix.Child(name).String()
}
