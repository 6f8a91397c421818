package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
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
// (an Agenda with its record, a dead letter with its record, or a deferred copy back in
// the queue) and may be deleted; an error is a passing one: the message stays in SQS.
// It also returns the sender as far as it was established.
func (i *Intake) handle(ctx context.Context, q *intakeQueue, m *sqstypes.Message) (done bool, snd sender, _ error) {
	body := []byte(aws.ToString(m.Body))
	snd = sender{customer: q.customer, verified: q.customer != ""}
	if len(body) > i.Config.MaxMessageBytes {
		done, err := i.refuse(ctx, q, m, snd, reject(RejectTooLarge, "message is %d bytes; the limit is %d", len(body), i.Config.MaxMessageBytes))
		return done, snd, err
	}
	snd, rej, err := i.identify(ctx, q, body, m.MessageAttributes)
	if err != nil {
		return false, snd, err
	}
	if rej == nil {
		// Only now, with the sender established, is the whole body read and validated.
		var sub *Submission
		if sub, rej = Parse(body, i.Config.MaxMessageBytes); rej == nil && sub.CustomerID != snd.customer {
			rej = reject(RejectCustomerMismatch, "customerId: the sender is customer %s (by its queue or its signature); the message claims %s", snd.customer, sub.CustomerID)
		}
		if rej == nil {
			done, err = i.submit(ctx, q, m, snd, sub)
			return done, snd, err
		}
	}
	done, err = i.refuse(ctx, q, m, snd, rej)
	return done, snd, err
}

// submit creates the Agenda of a valid message within its customer's bound, or finds the
// one an earlier delivery created, and writes its record.
func (i *Intake) submit(ctx context.Context, q *intakeQueue, m *sqstypes.Message, snd sender, sub *Submission) (bool, error) {
	room, err := i.flow.take(ctx, i.Client, snd.namespace, i.Config.MaxPending, i.Config.MaxPendingPerCustomer)
	if err != nil {
		return false, fmt.Errorf("counting pending Agendas: %w", err)
	}
	if !room {
		return i.deferMessage(ctx, q, m)
	}
	created := ""
	defer func() { i.flow.done(snd.namespace, created) }()

	claim, done, err := i.claim(ctx, sub)
	if done || err != nil {
		return done, err
	}
	ag, isNew, rej, err := i.createAgenda(ctx, claimed(NewAgenda(sub, snd.namespace), claim), sub.Key)
	if err != nil {
		return false, err
	}
	if rej != nil {
		return i.refuse(ctx, q, m, snd, rej)
	}
	if isNew {
		created = ag.Namespace + "/" + ag.Name
	}
	now := time.Now()
	_, err = i.Store.Put(ctx, heldBy(RecordOf(ag, sub.CustomerID, now, i.Config.RecordTTL), ag, i.Config.Center, now, i.Config.ClaimLease))
	if errors.Is(err, ErrTombstoned) || errors.Is(err, ErrClaimedElsewhere) {
		return i.undoCreate(ctx, ag, isNew)
	}
	if err != nil {
		return false, fmt.Errorf("agenda %s exists but its DynamoDB record is not written: %w", client.ObjectKeyFromObject(ag), err)
	}
	result := "duplicate" // an earlier delivery created it
	if isNew {
		result = "created"
	}
	i.counted(result, "")
	return true, nil
}

// claim makes this center the one that runs the submission (docs/centers.md). done: the
// message is accounted for without an Agenda here — a deleted Agenda's tombstone keeps
// its key taken (a resend), or another center holds the claim (a redelivery or resend
// that center runs).
func (i *Intake) claim(ctx context.Context, sub *Submission) (_ Claim, done bool, _ error) {
	c, err := i.Store.Claim(ctx, sub.CustomerID, sub.Key, i.Config.Center, i.Config.ClaimLease, time.Now())
	switch {
	case errors.Is(err, ErrTombstoned):
		i.counted("duplicate", "")
		return c, true, nil
	case err != nil:
		return c, false, err
	case !c.Mine:
		i.Log.Info("Message dropped: another center holds its claim", "customer", sub.CustomerID, "agendaId", sub.Key, "center", c.Holder)
		i.counted("duplicate", "ClaimedByAnotherCenter")
		return c, true, nil
	case c.TakenOverFrom != "":
		i.Log.Info("Took over a lapsed claim", "customer", sub.CustomerID, "agendaId", sub.Key, "from", c.TakenOverFrom)
		CenterTakeovers.WithLabelValues(i.Config.Center, c.TakenOverFrom).Inc()
	}
	return c, false, nil
}

// claimed notes on a new Agenda the center whose lapsed claim this center took over.
func claimed(ag *popv1.Agenda, c Claim) *popv1.Agenda {
	if c.TakenOverFrom != "" {
		ag.Annotations[TakenOverAnnotation] = c.TakenOverFrom
	}
	return ag
}

// undoCreate undoes an Agenda created for a key whose tombstone was written between the
// tombstone check and the create (the earlier Agenda's deletion finished meanwhile): the
// key is taken, the message is a resend. The bridge may patch Agendas but not delete them
// (least privilege), so it cancels the Agenda with ttlSecondsAfterFinished 0: the
// controller stops it before it runs anything and deletes it.
func (i *Intake) undoCreate(ctx context.Context, ag *popv1.Agenda, isNew bool) (bool, error) {
	if isNew {
		patch := client.MergeFrom(ag.DeepCopy())
		ag.Spec.Cancel, ag.Spec.TTLSecondsAfterFinished = true, new(int32)
		if err := i.Client.Patch(ctx, ag, patch); client.IgnoreNotFound(err) != nil {
			return false, fmt.Errorf("cancelling Agenda %s created for a taken agendaId: %w", client.ObjectKeyFromObject(ag), err)
		}
		i.Log.Info("Cancelled an Agenda created for an agendaId whose tombstone appeared meanwhile", "agenda", client.ObjectKeyFromObject(ag).String())
	}
	i.counted("duplicate", "")
	return true, nil
}

// deferMessage puts a copy of the message back in its queue, delayed by DeferDelay, when
// its customer (or all customers together) is at its bound: the message waits in SQS
// without holding the other customers' messages behind it, and as a new message its
// receive count starts afresh (leaving it to come back by itself would count receives
// towards maxReceiveCount).
func (i *Intake) deferMessage(ctx context.Context, q *intakeQueue, m *sqstypes.Message) (bool, error) {
	_, err := i.Clients.SQS.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(q.url), MessageBody: m.Body, MessageAttributes: m.MessageAttributes,
		DelaySeconds: int32(i.Config.DeferDelay / time.Second),
	})
	if err != nil {
		return false, fmt.Errorf("deferring a message of a customer at its bound: %w", err)
	}
	i.counted("deferred", "")
	return true, nil
}

// refuse dead-letters a message with its reason and records the refusal.
func (i *Intake) refuse(ctx context.Context, q *intakeQueue, m *sqstypes.Message, snd sender, rej *Rejection) (bool, error) {
	if err := i.deadLetter(ctx, q.url, m, snd, rej, true); err != nil {
		return false, fmt.Errorf("dead-lettering a refused message (%s): %w", rej.Reason, err)
	}
	i.Log.Info("Message refused and dead-lettered", "queue", q.url, "messageId", aws.ToString(m.MessageId),
		"customer", snd.customer, "verified", snd.verified, "reason", rej.Reason, "detail", rej.Detail)
	i.counted("rejected", rej.Reason)
	return true, nil
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

// deadLetter records the rejection in DynamoDB for the client, in the partition of the
// sender (see sender.recordKey), then sends the message to the dead-letter queue with the
// reason. The record comes first: while the table is away a receive sends nothing and the
// message waits in SQS, instead of leaving one more dead letter per receive (found while
// tracing the double dead letters of `make chaos`, issue 15); a redelivery finds the
// record (PutRejection keeps it) and sends the dead letter. A crash between the dead letter
// and the delete may still dead-letter a message twice (SQS is at-least-once); it never
// loses one. Without mustRecord a failed record write is only logged: the message's last
// receive must leave SQS with its reason even when the table is what fails.
func (i *Intake) deadLetter(ctx context.Context, queue string, m *sqstypes.Message, snd sender, rej *Rejection, mustRecord bool) error {
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
	customer, key := snd.recordKey([]byte(aws.ToString(m.Body)), aws.ToString(m.MessageId))
	err := i.Store.PutRejection(ctx, Record{
		CustomerID: customer, AgendaID: key, State: StateRejected, Reason: rej.Reason, Message: clip(rej.Detail),
		MessageID: aws.ToString(m.MessageId), Source: SourceSQS, UpdatedAt: time.Now().UTC().Format(time.RFC3339),
	}, i.Config.Center)
	if err != nil && mustRecord {
		return err
	}
	if _, sendErr := i.Clients.SQS.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(i.Config.DeadLetterQueue), MessageBody: m.Body, MessageAttributes: attrs,
	}); sendErr != nil {
		return fmt.Errorf("sending to the dead-letter queue: %w", sendErr)
	}
	if err != nil {
		i.Log.Error(err, "Dead-lettered a message without its DynamoDB record", "messageId", aws.ToString(m.MessageId), "reason", rej.Reason)
	}
	return nil
}

// claimOf reads the customer and agenda id a message claims, without validating the rest
// (that waits until the sender is established). An error says the body is not JSON.
func claimOf(body []byte) (customer, key string, _ error) {
	var env struct {
		CustomerID string `json:"customerId"`
		AgendaID   string `json:"agendaId"`
		Agenda     struct {
			CustomerID string `json:"customerId"`
			AgendaID   string `json:"agendaId"`
		} `json:"agenda"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return "", "", err
	}
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
	return customer, key, nil
}

func stringAttr(v string) sqstypes.MessageAttributeValue {
	return sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}
