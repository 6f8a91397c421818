package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/metrics"
)

// Dead-letter message attributes.
const (
	AttrReason        = "pop-reject-reason"
	AttrDetail        = "pop-reject-detail"
	AttrSourceQueue   = "pop-source-queue"
	AttrSourceMessage = "pop-source-message-id"
	// AttrSignature carries the hex HMAC-SHA256 of the body, for customers with a signing Secret.
	AttrSignature = "pop-signature"
)

// maxMessageAttributes is SQS's limit per message.
const maxMessageAttributes = 10

// handle takes one message as far as it can, and reports whether it is accounted for
// (an Agenda with its record, or a dead letter with its record) and may be deleted, and
// the Agenda it created, if any (namespace/name).
func (i *Intake) handle(ctx context.Context, queue string, m *sqstypes.Message) (done bool, created string) {
	log := i.Log.WithValues("queue", queue, "messageId", aws.ToString(m.MessageId))
	body := []byte(aws.ToString(m.Body))
	sub, rej := Parse(body, i.Config.MaxMessageBytes)
	var ns string
	var err error
	if rej == nil {
		ns, rej, err = i.namespaceOf(ctx, sub.CustomerID)
	}
	if rej == nil && err == nil {
		rej, err = i.checkSignature(ctx, ns, body, m.MessageAttributes)
	}
	var ag *popv1.Agenda
	isNew := false
	if rej == nil && err == nil {
		ag, isNew, rej, err = i.createAgenda(ctx, NewAgenda(sub, ns), sub.Key)
	}
	if isNew {
		created = ag.Namespace + "/" + ag.Name
	}
	if err != nil {
		log.Error(err, "Message left for redelivery")
		return false, created
	}
	if rej != nil {
		if err := i.deadLetter(ctx, queue, m, rej); err != nil {
			log.Error(err, "Dead-lettering a refused message failed; left for redelivery", "reason", rej.Reason)
			return false, created
		}
		log.Info("Message refused and dead-lettered", "reason", rej.Reason, "detail", rej.Detail)
		metrics.BridgeMessages.WithLabelValues("rejected", rej.Reason).Inc()
		return true, created
	}
	if _, err := i.Store.Put(ctx, RecordOf(ag, sub.CustomerID, time.Now(), i.Config.RecordTTL)); err != nil {
		log.Error(err, "Agenda exists but its DynamoDB record is not written; left for redelivery", "agenda", client.ObjectKeyFromObject(ag).String())
		return false, created
	}
	result := "duplicate" // an earlier delivery created it
	if isNew {
		result = "created"
	}
	metrics.BridgeMessages.WithLabelValues(result, "").Inc()
	return true, created
}

// namespaceOf finds the customer's namespace by its pop.dev/customer label (set by the
// platform team, never by customers).
func (i *Intake) namespaceOf(ctx context.Context, customer string) (string, *Rejection, error) {
	var list corev1.NamespaceList
	if err := i.Client.List(ctx, &list, client.MatchingLabels{popv1.CustomerLabel: customer}); err != nil {
		return "", nil, fmt.Errorf("listing namespaces of customer %q: %w", customer, err)
	}
	switch len(list.Items) {
	case 0:
		return "", reject(RejectUnknownCustomer, "customerId: no namespace is labelled %s=%s", popv1.CustomerLabel, customer), nil
	case 1:
		return list.Items[0].Name, nil, nil
	}
	return "", reject(RejectUnknownCustomer, "customerId: %d namespaces are labelled %s=%s; the bridge needs exactly one",
		len(list.Items), popv1.CustomerLabel, customer), nil
}

// createAgenda creates the Agenda, or finds the one an earlier delivery of the same key
// created. The API server's own refusal of the object (schema, CEL) is a rejection.
func (i *Intake) createAgenda(ctx context.Context, ag *popv1.Agenda, key string) (_ *popv1.Agenda, isNew bool, _ *Rejection, _ error) {
	err := i.Client.Create(ctx, ag)
	switch {
	case err == nil:
		return ag, true, nil, nil
	case apierrors.IsAlreadyExists(err):
		var cur popv1.Agenda
		if err := i.APIReader.Get(ctx, client.ObjectKeyFromObject(ag), &cur); err != nil {
			return nil, false, nil, fmt.Errorf("reading the existing Agenda %s: %w", ag.Name, err)
		}
		if cur.Annotations[KeyAnnotation] != key {
			return nil, false, reject(RejectConflictingAgain, "agendaId: Agenda %s/%s exists and was not created for this agendaId", ag.Namespace, ag.Name), nil
		}
		return &cur, false, nil, nil
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
		return nil, false, reject(RejectInvalidAgenda, "%s", apiErrorDetail(err)), nil
	}
	return nil, false, nil, fmt.Errorf("creating Agenda %s/%s: %w", ag.Namespace, ag.Name, err)
}

func apiErrorDetail(err error) string {
	if st, ok := err.(apierrors.APIStatus); ok && st.Status().Details != nil {
		msg := ""
		for n, c := range st.Status().Details.Causes {
			if n > 0 {
				msg += "; "
			}
			msg += fmt.Sprintf("%s: %s", c.Field, c.Message)
		}
		if msg != "" {
			return msg
		}
	}
	return err.Error()
}

// deadLetter sends the message to the dead-letter queue with the reason, and records the
// rejection in DynamoDB for the client. A crash between the two may dead-letter a message
// twice (SQS is at-least-once); it never loses one.
func (i *Intake) deadLetter(ctx context.Context, queue string, m *sqstypes.Message, rej *Rejection) error {
	attrs := map[string]sqstypes.MessageAttributeValue{
		AttrReason:        stringAttr(rej.Reason),
		AttrDetail:        stringAttr(clip(rej.Detail)),
		AttrSourceQueue:   stringAttr(queue),
		AttrSourceMessage: stringAttr(aws.ToString(m.MessageId)),
	}
	// The client's own attributes travel with the dead letter, as far as SQS's limit of 10
	// allows, so that it can match the letter to what it sent.
	for k, v := range m.MessageAttributes {
		if _, ours := attrs[k]; !ours && len(attrs) < maxMessageAttributes {
			attrs[k] = v
		}
	}
	if _, err := i.Clients.SQS.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(i.Config.DeadLetterQueue), MessageBody: m.Body, MessageAttributes: attrs,
	}); err != nil {
		return fmt.Errorf("sending to the dead-letter queue: %w", err)
	}
	customer, key := identify([]byte(aws.ToString(m.Body)))
	if customer == "" {
		customer = "_unknown"
	}
	if key == "" {
		key = "message:" + aws.ToString(m.MessageId)
	}
	return i.Store.PutRejection(ctx, Record{
		CustomerID: customer, AgendaID: key, State: StateRejected, Reason: rej.Reason, Message: clip(rej.Detail),
		MessageID: aws.ToString(m.MessageId), Source: SourceSQS, UpdatedAt: time.Now().UTC().Format(time.RFC3339),
	})
}

// identify reads what it can of a refused message's customer and agenda id.
func identify(body []byte) (customer, key string) {
	var env struct {
		CustomerID string `json:"customerId"`
		AgendaID   string `json:"agendaId"`
		Agenda     struct {
			CustomerID string `json:"customerId"`
			AgendaID   string `json:"agendaId"`
		} `json:"agenda"`
	}
	_ = json.Unmarshal(body, &env) // best effort: the message may not be JSON at all
	customer, key = env.CustomerID, env.AgendaID
	if customer == "" {
		customer = env.Agenda.CustomerID
	}
	if key == "" {
		key = env.Agenda.AgendaID
	}
	if len(customer) > maxKeyLength {
		customer = ""
	}
	if len(key) > maxKeyLength {
		key = ""
	}
	return customer, key
}

func stringAttr(v string) sqstypes.MessageAttributeValue {
	return sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}
