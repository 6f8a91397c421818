// Package popjson reads the original POP's Agenda JSON ({"operations": [...], "params":
// {...}, "agendaId": ..., "customerId": ...}) into an Agenda spec. popctl submit and the
// SQS bridge share it, so a POP client's JSON is accepted the same way by both.
package popjson

import (
	"encoding/json"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// Agenda is the original POP's Agenda JSON. Fields POP had and POP for Kubernetes does not
// use (agendaInsight, cid, progress fields) are ignored, so existing JSON is accepted as is.
type Agenda struct {
	AgendaID   string          `json:"agendaId,omitempty"`
	CustomerID string          `json:"customerId,omitempty"`
	Params     json.RawMessage `json:"params,omitempty"`
	Operations []Operation     `json:"operations"`
}

// Operation is one POP operation.
type Operation struct {
	Name    string          `json:"name"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
}

// Spec is the Agenda spec the POP JSON describes.
func (a *Agenda) Spec() popv1.AgendaSpec {
	spec := popv1.AgendaSpec{Params: jsonOrNil(a.Params)}
	for _, op := range a.Operations {
		spec.Operations = append(spec.Operations, popv1.Operation{
			Name: op.Name, Type: op.Type, Payload: jsonOrNil(op.Payload), Params: jsonOrNil(op.Params),
		})
	}
	return spec
}

func jsonOrNil(raw json.RawMessage) *apiextensionsv1.JSON {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return &apiextensionsv1.JSON{Raw: raw}
}
