package bridge

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pop-operator/pop/internal/metrics"
)

// Intake is the manager Runnable that turns SQS messages into Agendas. Every message ends
// in exactly one of: an Agenda (created once, whatever the redeliveries) with its DynamoDB
// record, or the dead-letter queue with a reason and a record. A message is deleted only
// after that; on any passing error it is left for SQS to redeliver.
type Intake struct {
	Config  Config
	Clients *Clients
	Store   *Store
	// Client writes Agendas and reads namespaces and Agendas from the cache.
	Client client.Client
	// APIReader reads what the cache does not hold: signing Secrets, and an Agenda that
	// already exists when the cache has not seen it yet.
	APIReader client.Reader
	Log       logr.Logger

	secrets secretCache
	flow    flowControl
}

// NeedLeaderElection is false: SQS consumers compete safely (creation is idempotent), so
// every replica can take messages.
func (i *Intake) NeedLeaderElection() bool { return false }

// Start polls every intake queue with Config.Pollers long polls until ctx ends.
func (i *Intake) Start(ctx context.Context) error {
	i.Log.Info("SQS intake starting", "queues", i.Config.IntakeQueues, "pollers", i.Config.Pollers, "maxPending", i.Config.MaxPending)
	var wg sync.WaitGroup
	for _, q := range i.Config.IntakeQueues {
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

// poll receives batches from one queue until ctx ends.
func (i *Intake) poll(ctx context.Context, queue string) {
	for ctx.Err() == nil {
		room := i.flow.acquire(ctx, i.Client, i.Config.MaxPending, 10, i.Log)
		if room == 0 {
			sleep(ctx, 250*time.Millisecond)
			continue
		}
		out, err := i.Clients.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(queue),
			MaxNumberOfMessages:         int32(room),
			WaitTimeSeconds:             int32(i.Config.WaitTime / time.Second),
			VisibilityTimeout:           int32(i.Config.VisibilityTimeout / time.Second),
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if err != nil {
			i.flow.release(room, nil)
			if ctx.Err() == nil {
				i.Log.Error(err, "Receiving from SQS failed; retrying", "queue", queue)
				sleep(ctx, time.Second)
			}
			continue
		}
		i.flow.release(room, i.handleBatch(ctx, queue, out.Messages))
	}
}

// handleBatch handles a batch's messages in parallel, deletes those that are done, and
// returns the Agendas it created (namespace/name).
func (i *Intake) handleBatch(ctx context.Context, queue string, msgs []sqstypes.Message) []string {
	done := make([]bool, len(msgs))
	createdBy := make([]string, len(msgs))
	var wg sync.WaitGroup
	for n := range msgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done[n], createdBy[n] = i.handle(ctx, queue, &msgs[n])
		}()
	}
	wg.Wait()
	var created []string
	for _, c := range createdBy {
		if c != "" {
			created = append(created, c)
		}
	}
	var entries []sqstypes.DeleteMessageBatchRequestEntry
	for n, m := range msgs {
		if done[n] {
			entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: m.MessageId, ReceiptHandle: m.ReceiptHandle})
		} else {
			metrics.BridgeRetries.Inc()
		}
	}
	if len(entries) == 0 {
		return created
	}
	// Deleting is the last step, and safe to miss: a message that comes back finds its
	// Agenda (or its rejection) and is deleted then.
	out, err := i.Clients.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(queue), Entries: entries})
	if err != nil {
		i.Log.Error(err, "Deleting handled messages failed; they will be redelivered and recognised", "queue", queue)
		return created
	}
	for _, f := range out.Failed {
		i.Log.Info("SQS refused to delete a handled message; it will be redelivered and recognised",
			"queue", queue, "id", aws.ToString(f.Id), "code", aws.ToString(f.Code))
	}
	return created
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
