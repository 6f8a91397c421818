package bridge

import (
	"context"
	"strings"

	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"k8s.io/apimachinery/pkg/util/validation"
)

// intakeQueue is one polled queue: shared (customer empty), or bound to one customer.
type intakeQueue struct {
	url      string
	customer string
	redrive  redrive
}

// sender is who a message acts for, as far as the bridge can establish it.
type sender struct {
	customer  string
	namespace string
	// verified: the customer is established — the message came on that customer's queue,
	// or carries a valid signature under that customer's key. Only then may a refusal be
	// recorded in that customer's partition.
	verified bool
}

// identify establishes the sender of a message. On a customer's queue the queue is the
// identity (IAM lets only that customer send to it); its signature is still checked when
// the customer signs, or when --bridge-require-signatures is set. On a shared queue any
// sender may claim any customerId, so the claim stands only with a valid signature under
// the claimed customer's key: a customer without a signing Secret cannot use a shared
// queue at all, whatever the flags (issue 11: otherwise one customer could act as another).
func (i *Intake) identify(ctx context.Context, q *intakeQueue, body []byte, attrs map[string]sqstypes.MessageAttributeValue) (sender, *Rejection, error) {
	if q.customer != "" {
		s := sender{customer: q.customer, verified: true}
		var rej *Rejection
		var err error
		if s.namespace, rej, err = i.namespaceOf(ctx, q.customer); rej != nil || err != nil {
			return s, rej, err
		}
		rej, err = i.checkSignature(ctx, s.namespace, body, attrs, i.Config.RequireSignatures)
		return s, rej, err
	}
	claimed, _, err := claimOf(body)
	if err != nil {
		return sender{}, reject(RejectNotJSON, "%v", err), nil
	}
	if claimed == "" {
		return sender{}, reject(RejectMissingField, "customerId: required"), nil
	}
	if errs := validation.IsValidLabelValue(claimed); len(errs) > 0 {
		return sender{}, reject(RejectMissingField, "customerId: %s", strings.Join(errs, "; ")), nil
	}
	s := sender{customer: claimed}
	var rej *Rejection
	if s.namespace, rej, err = i.namespaceOf(ctx, claimed); rej != nil || err != nil {
		return s, rej, err
	}
	if rej, err = i.checkSignature(ctx, s.namespace, body, attrs, true); rej != nil || err != nil {
		return s, rej, err
	}
	s.verified = true
	return s, nil, nil
}

// recordKey is where a refusal is recorded: the established sender's partition, under
// the agendaId it sent (or the message id); refusals of unverified senders all go to
// UnverifiedCustomer under the message id, never to the customer they claim.
func (s sender) recordKey(body []byte, messageID string) (customer, agendaID string) {
	if !s.verified {
		return UnverifiedCustomer, "message:" + messageID
	}
	_, key, _ := claimOf(body)
	if key == "" {
		key = "message:" + messageID
	}
	return s.customer, key
}
