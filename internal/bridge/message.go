package bridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/dag"
)

// Reasons a message is refused. Each is the value of the dead-letter message's
// pop-reject-reason attribute and the DynamoDB record's reason.
const (
	RejectNotJSON          = "NotJSON"
	RejectTooLarge         = "TooLarge"
	RejectMissingField     = "MissingField"
	RejectInvalidAgenda    = "InvalidAgenda"
	RejectUnknownCustomer  = "UnknownCustomer"
	RejectBadSignature     = "BadSignature"
	RejectConflictingAgain = "KeyReusedForAnotherAgenda"
	// RejectCustomerMismatch: a customer queue's message claims another customer.
	RejectCustomerMismatch = "CustomerMismatch"
	// RejectRetriesExhausted: a valid message failed with passing errors on every receive
	// SQS allows; the bridge dead-letters it with the last error rather than let SQS's
	// redrive move it without one.
	RejectRetriesExhausted = "RetriesExhausted"
)

// UnverifiedCustomer is the record partition of refusals whose sender is not established
// (a shared queue's message without a valid signature): they must not land in the
// partition of the customer they claim.
const UnverifiedCustomer = "_unverified"

// Rejection says why a message cannot become an Agenda. It is final: retrying the same
// message cannot succeed, so it goes to the dead-letter queue.
type Rejection struct {
	Reason string
	Detail string
}

func (r *Rejection) Error() string { return r.Reason + ": " + r.Detail }

func reject(reason, format string, args ...any) *Rejection {
	return &Rejection{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Submission is a message that parsed and validated: one Agenda for one customer.
type Submission struct {
	CustomerID string
	// Key is the client's agenda id: the idempotency key.
	Key      string
	Spec     popv1.AgendaSpec
	Labels   map[string]string
	Priority int32
	Insight  string
}

// envelope is the message format. A message without "agenda" is read as the original
// POP's Agenda JSON itself, with customerId and agendaId at its top level.
type envelope struct {
	CustomerID string            `json:"customerId"`
	AgendaID   string            `json:"agendaId"`
	Agenda     json.RawMessage   `json:"agenda,omitempty"`
	Priority   *int32            `json:"priority,omitempty"`
	Insight    string            `json:"insight,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
}

// maxKeyLength bounds the idempotency key (it is stored in an annotation and a DynamoDB key).
const maxKeyLength = 256

// Parse reads and validates one message body: the same graph validation as the admission
// webhook, with the same field paths (under "agenda." for an envelope).
func Parse(body []byte, maxBytes int) (*Submission, *Rejection) {
	if len(body) > maxBytes {
		return nil, reject(RejectTooLarge, "message is %d bytes; the limit is %d", len(body), maxBytes)
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, reject(RejectNotJSON, "%v", err)
	}
	raw, prefix := env.Agenda, field.NewPath("agenda")
	if len(raw) == 0 {
		raw, prefix = body, nil
	}
	var pop templatedAgenda
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&pop); err != nil {
		return nil, reject(RejectInvalidAgenda, "agenda: %v", err)
	}
	spec, r := pop.spec(prefix)
	if r != nil {
		return nil, r
	}
	sub := &Submission{CustomerID: env.CustomerID, Key: env.AgendaID, Spec: spec, Labels: env.Labels, Insight: env.Insight}
	if sub.CustomerID == "" {
		sub.CustomerID = pop.CustomerID
	}
	if sub.Key == "" {
		sub.Key = pop.AgendaID
	}
	if env.Priority != nil {
		sub.Priority = *env.Priority
	}
	if r := checkFields(sub); r != nil {
		return nil, r
	}
	if sub.Spec.Template != "" {
		return sub, nil // the webhook binds the arguments; the controller resolves the template
	}
	if _, errs := dag.Build(&sub.Spec); len(errs) > 0 {
		return nil, reject(RejectInvalidAgenda, "%s", prefixed(errs, prefix))
	}
	return sub, nil
}

func checkFields(sub *Submission) *Rejection {
	switch {
	case sub.CustomerID == "":
		return reject(RejectMissingField, "customerId: required")
	case sub.Key == "":
		return reject(RejectMissingField, "agendaId: required (it is the idempotency key)")
	case len(sub.Key) > maxKeyLength:
		return reject(RejectMissingField, "agendaId: longer than %d characters", maxKeyLength)
	case len(sub.Spec.Operations) == 0 && sub.Spec.Template == "":
		return reject(RejectInvalidAgenda, "operations: at least one operation is required (or a template)")
	}
	if errs := validation.IsValidLabelValue(sub.CustomerID); len(errs) > 0 {
		return reject(RejectMissingField, "customerId: %s", strings.Join(errs, "; "))
	}
	for k, v := range sub.Labels {
		if errs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...); len(errs) > 0 {
			return reject(RejectInvalidAgenda, "labels[%s]: %s", k, strings.Join(errs, "; "))
		}
		if strings.HasPrefix(k, "pop.dev/") {
			return reject(RejectInvalidAgenda, "labels[%s]: the pop.dev/ prefix is reserved", k)
		}
	}
	return nil
}

// prefixed renders field errors, rooted under prefix when the Agenda came in an envelope.
func prefixed(errs field.ErrorList, prefix *field.Path) string {
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		m := e.Error()
		if prefix != nil {
			m = prefix.String() + "." + strings.TrimPrefix(m, "spec.")
		} else {
			m = strings.TrimPrefix(m, "spec.")
		}
		msgs = append(msgs, m)
	}
	return strings.Join(msgs, "; ")
}
