package bridge

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/go-logr/logr"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/metrics"
)

// Intake is the manager Runnable that turns SQS messages into Agendas. Every message ends
// in exactly one of: an Agenda (created once, whatever the redeliveries) with its DynamoDB
// record, or the dead-letter queue with a reason and a record. A message is deleted only
// after that; on any passing error it is left for SQS to redeliver, later each time, and
// on the last receive SQS allows it is dead-lettered with the error as its reason.
type Intake struct {
	Config  Config
	Clients *Clients
	Store   *Store
	// Client writes Agendas and reads namespaces and Agendas from the cache.
	Client client.Client
	// APIReader reads what the cache does not hold: signing Secrets, an Agenda that
	// already exists when the cache has not seen it yet, and the health probe.
	APIReader client.Reader
	// Informers, when set, tell flow control at once when the cache sees a bridged Agenda.
	Informers cache.Informers
	Log       logr.Logger

	secrets secretCache
	flow    flowControl
	health  health
}

// NeedLeaderElection is false: SQS consumers compete safely (creation is idempotent), so
// every replica can take messages.
func (i *Intake) NeedLeaderElection() bool { return false }

// Start polls every intake queue with Config.Pollers long polls until ctx ends.
func (i *Intake) Start(ctx context.Context) error {
	i.Log.Info("SQS intake starting", "sharedQueues", i.Config.IntakeQueues, "customerQueues", len(i.Config.CustomerQueues),
		"pollers", i.Config.Pollers, "maxPending", i.Config.MaxPending, "maxPendingPerCustomer", i.Config.MaxPendingPerCustomer,
		"center", i.Config.Center, "capacityAware", i.Config.CapacityAware, "capacityHeadroom", i.Config.CapacityHeadroom)
	i.flow.configure(i.Config)
	if err := i.watchAgendas(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Go(func() { i.beat(ctx) })
	for _, q := range i.queues() {
		for range i.Config.Pollers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				i.poll(ctx, q)
			}()
		}
	}
	wg.Wait()
	return nil
}

// watchAgendas feeds the cache's Agenda events to flow control.
func (i *Intake) watchAgendas(ctx context.Context) error {
	if i.Informers == nil {
		return nil
	}
	inf, err := i.Informers.GetInformer(ctx, &popv1.Agenda{})
	if err != nil {
		return fmt.Errorf("watching Agendas for flow control: %w", err)
	}
	observe := func(obj any) {
		if ag, ok := obj.(*popv1.Agenda); ok && ag.Labels[SourceLabel] != SourceSQS {
			return // only bridged Agendas are counted
		}
		if key, err := toolscache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			i.flow.observe(key)
		}
	}
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: observe, DeleteFunc: observe, UpdateFunc: func(_, obj any) { observe(obj) },
	})
	return err
}

func (i *Intake) queues() []*intakeQueue {
	var qs []*intakeQueue
	for _, url := range i.Config.IntakeQueues {
		qs = append(qs, &intakeQueue{url: url})
	}
	for _, b := range i.Config.CustomerQueues {
		qs = append(qs, &intakeQueue{url: b.URL, customer: b.Customer})
	}
	return qs
}

// poll receives batches from one queue until ctx ends, while the cluster and the table
// answer and flow control leaves room.
func (i *Intake) poll(ctx context.Context, q *intakeQueue) {
	for ctx.Err() == nil {
		if !i.health.ready(ctx, i.probe, i.Log) {
			sleep(ctx, 250*time.Millisecond)
			continue
		}
		maxReceives, err := q.redrive.maxReceives(ctx, i.Clients.SQS, q.url)
		if err != nil {
			i.Log.Error(err, "Not receiving from a queue whose redrive policy is unknown", "queue", q.url)
			sleep(ctx, 5*time.Second)
			continue
		}
		room := i.room(ctx, q)
		if room == 0 {
			sleep(ctx, 250*time.Millisecond)
			continue
		}
		out, err := i.Clients.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(q.url),
			MaxNumberOfMessages:         int32(room),
			WaitTimeSeconds:             int32(i.Config.WaitTime / time.Second),
			VisibilityTimeout:           int32(i.Config.VisibilityTimeout / time.Second),
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if err != nil {
			if ctx.Err() == nil {
				i.Log.Error(err, "Receiving from SQS failed; retrying", "queue", q.url)
				sleep(ctx, time.Second)
			}
			continue
		}
		i.handleBatch(ctx, q, out.Messages, maxReceives)
	}
}

// room is how many messages flow control lets a poller receive; a customer's queue also
// needs room under that customer's bound.
func (i *Intake) room(ctx context.Context, q *intakeQueue) int {
	ns := ""
	if q.customer != "" {
		var rej *Rejection
		var err error
		if ns, rej, err = i.namespaceOf(ctx, q.customer); err != nil || rej != nil {
			ns = "" // its messages will be refused (UnknownCustomer) or retried: no bound to apply
		}
	}
	return i.flow.room(ctx, i.Client, i.Config.MaxPending, 10, ns, i.Config.MaxPendingPerCustomer, i.Log)
}

// handleBatch handles a batch's messages in parallel, deletes those that are done, and
// hides those that failed for longer each receive.
func (i *Intake) handleBatch(ctx context.Context, q *intakeQueue, msgs []sqstypes.Message, maxReceives int) {
	done := make([]bool, len(msgs))
	var wg sync.WaitGroup
	for n := range msgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done[n] = i.settle(ctx, q, &msgs[n], maxReceives)
		}()
	}
	wg.Wait()
	var finished, retried []sqstypes.Message
	for n, m := range msgs {
		if done[n] {
			finished = append(finished, m)
		} else {
			retried = append(retried, m)
		}
	}
	i.deleteMessages(ctx, q, finished)
	i.delayRetries(ctx, q, retried)
}

// settle handles one message and reports whether it may be deleted. A passing error makes
// the health probe run before the next receive; on the receive after which SQS would move
// the message without a reason, the bridge dead-letters it with the error instead.
func (i *Intake) settle(ctx context.Context, q *intakeQueue, m *sqstypes.Message, maxReceives int) bool {
	log := i.Log.WithValues("queue", q.url, "messageId", aws.ToString(m.MessageId))
	done, snd, err := i.handle(ctx, q, m)
	if err == nil {
		return done
	}
	i.health.suspect()
	n := receiveCount(m)
	if maxReceives == 0 || n < maxReceives || ctx.Err() != nil {
		log.Error(err, "Message left for redelivery", "receive", n, "maxReceives", maxReceives)
		metrics.BridgeRetries.Inc()
		return false
	}
	rej := reject(RejectRetriesExhausted, "failed on all %d receives the queue's redrive policy allows; last error: %v", n, err)
	if err := i.deadLetter(ctx, q.url, m, snd, rej, false); err != nil {
		log.Error(err, "Dead-lettering a message on its last receive failed; SQS will move it without a reason")
		return false
	}
	log.Info("Message dead-lettered on its last receive", "reason", rej.Reason, "detail", rej.Detail)
	i.counted("rejected", rej.Reason)
	return true
}

// deleteMessages deletes handled messages. Deleting is the last step, and safe to miss: a
// message that comes back finds its Agenda (or its rejection) and is deleted then.
func (i *Intake) deleteMessages(ctx context.Context, q *intakeQueue, msgs []sqstypes.Message) {
	if len(msgs) == 0 {
		return
	}
	entries := make([]sqstypes.DeleteMessageBatchRequestEntry, 0, len(msgs))
	for _, m := range msgs {
		entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: m.MessageId, ReceiptHandle: m.ReceiptHandle})
	}
	out, err := i.Clients.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
	if err != nil {
		i.Log.Error(err, "Deleting handled messages failed; they will be redelivered and recognised", "queue", q.url)
		return
	}
	for _, f := range out.Failed {
		i.Log.Info("SQS refused to delete a handled message; it will be redelivered and recognised",
			"queue", q.url, "id", aws.ToString(f.Id), "code", aws.ToString(f.Code))
	}
}

// delayRetries hides messages left for redelivery for retryVisibility of their receive
// count, so that a persistent passing error spends the receives SQS allows slowly.
func (i *Intake) delayRetries(ctx context.Context, q *intakeQueue, msgs []sqstypes.Message) {
	var entries []sqstypes.ChangeMessageVisibilityBatchRequestEntry
	for _, m := range msgs {
		if n := receiveCount(&m); n > 1 {
			entries = append(entries, sqstypes.ChangeMessageVisibilityBatchRequestEntry{Id: m.MessageId, ReceiptHandle: m.ReceiptHandle,
				VisibilityTimeout: int32(retryVisibility(n, i.Config.VisibilityTimeout) / time.Second)})
		}
	}
	if len(entries) == 0 || ctx.Err() != nil {
		return
	}
	if _, err := i.Clients.SQS.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(q.url), Entries: entries}); err != nil {
		i.Log.Error(err, "Delaying the redelivery of failed messages failed; they come back after the visibility timeout", "queue", q.url)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
