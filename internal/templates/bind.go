// Package templates binds an Agenda's arguments to an AgendaTemplate's declared parameters:
// each argument is checked against its parameter's JSON type, defaults fill the ones left
// out, and the result becomes the Agenda's params, which the template's operations read as
// @<agenda.params::/name>. It is pure: no client, no cluster.
package templates

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/pop-operator/pop/internal/refs"
)

// Types a parameter may declare; "" accepts any JSON value.
const (
	TypeString  = "string"
	TypeNumber  = "number"
	TypeInteger = "integer"
	TypeBoolean = "boolean"
	TypeObject  = "object"
	TypeArray   = "array"
)

// MaxParameters bounds a template's declared parameters (and so an Agenda's arguments).
const MaxParameters = 64

// Parameter is one declared parameter.
type Parameter struct {
	Name     string
	Type     string
	Required bool
	// Default is the JSON value used when the argument is left out (nil: none).
	Default json.RawMessage
}

// FieldError is a refusal that names the field it is about.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Bind checks args against params and returns the params object: every argument given,
// and the default of every parameter left out that has one. argsField is the field path of
// the arguments ("spec.arguments"), used in errors.
func Bind(params []Parameter, args map[string]json.RawMessage, argsField string) (map[string]any, error) {
	declared := make(map[string]Parameter, len(params))
	for _, p := range params {
		declared[p.Name] = p
	}
	for _, name := range sortedKeys(args) {
		if _, ok := declared[name]; !ok {
			return nil, &FieldError{argsField + "." + name, fmt.Sprintf("unknown parameter; the template declares %s", names(params))}
		}
	}
	out := make(map[string]any, len(params))
	for _, p := range params {
		raw, given := args[p.Name]
		field := argsField + "." + p.Name
		if !given {
			if p.Required {
				return nil, &FieldError{field, "required"}
			}
			if p.Default == nil {
				continue
			}
			raw = p.Default
		}
		if err := refs.CheckDepth(raw); err != nil { // before decoding: an argument is a tenant's input
			return nil, &FieldError{field, err.Error()}
		}
		v, err := refs.Decode(raw)
		if err != nil {
			return nil, &FieldError{field, "not JSON: " + err.Error()}
		}
		if err := checkType(p.Type, v); err != nil {
			return nil, &FieldError{field, err.Error()}
		}
		out[p.Name] = v
	}
	return out, nil
}

// CheckDeclarations refuses parameters a template may not declare: too many, unnamed or
// twice-named, of an unknown type, or whose default is not of their type. paramsField is
// their field path ("spec.parameters").
func CheckDeclarations(params []Parameter, paramsField string) error {
	if len(params) > MaxParameters {
		return &FieldError{paramsField, fmt.Sprintf("%d parameters; at most %d", len(params), MaxParameters)}
	}
	seen := map[string]bool{}
	for i, p := range params {
		field := fmt.Sprintf("%s[%d]", paramsField, i)
		switch {
		case p.Name == "":
			return &FieldError{field + ".name", "required"}
		case seen[p.Name]:
			return &FieldError{field + ".name", fmt.Sprintf("%q is declared twice", p.Name)}
		case !knownType(p.Type):
			return &FieldError{field + ".type", fmt.Sprintf("unknown type %q; want string, number, integer, boolean, object, array or none", p.Type)}
		case p.Required && p.Default != nil:
			return &FieldError{field + ".default", "a required parameter has no default"}
		}
		seen[p.Name] = true
		if p.Default == nil {
			continue
		}
		v, err := refs.Decode(p.Default)
		if err != nil {
			return &FieldError{field + ".default", "not JSON: " + err.Error()}
		}
		if err := checkType(p.Type, v); err != nil {
			return &FieldError{field + ".default", err.Error()}
		}
	}
	return nil
}

func knownType(t string) bool {
	switch t {
	case "", TypeString, TypeNumber, TypeInteger, TypeBoolean, TypeObject, TypeArray:
		return true
	}
	return false
}

// checkType tells whether v, decoded by refs.Decode (numbers as json.Number), is of type t.
func checkType(t string, v any) error {
	ok := true
	switch t {
	case TypeString:
		_, ok = v.(string)
	case TypeNumber:
		_, ok = v.(json.Number)
	case TypeInteger:
		n, isNum := v.(json.Number)
		_, err := n.Int64()
		ok = isNum && err == nil
	case TypeBoolean:
		_, ok = v.(bool)
	case TypeObject:
		_, ok = v.(map[string]any)
	case TypeArray:
		_, ok = v.([]any)
	}
	if !ok {
		return fmt.Errorf("must be of type %s", t)
	}
	return nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func names(params []Parameter) string {
	if len(params) == 0 {
		return "no parameters"
	}
	out := make([]string, len(params))
	for i, p := range params {
		out[i] = p.Name
	}
	return strings.Join(out, ", ")
}
