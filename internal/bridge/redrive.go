package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// redrive knows a queue's maxReceiveCount: the receive on which the bridge must settle a
// message itself — dead-letter it with the reason — because SQS would move it on the next
// one without any. It is read from the queue's RedrivePolicy and read again now and then
// (a policy can change); 0 means no policy: SQS never moves the message.
type redrive struct {
	mu      sync.Mutex
	max     int
	fetched time.Time
}

const redriveRefresh = 5 * time.Minute

// maxReceives returns the queue's maxReceiveCount, reading the policy when it is stale.
func (r *redrive) maxReceives(ctx context.Context, c *sqs.Client, queue string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.fetched.IsZero() && time.Since(r.fetched) < redriveRefresh {
		return r.max, nil
	}
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queue),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameRedrivePolicy}})
	if err != nil {
		return 0, fmt.Errorf("reading the redrive policy of %s (the bridge needs sqs:GetQueueAttributes): %w", queue, err)
	}
	max, err := parseMaxReceiveCount(out.Attributes[string(sqstypes.QueueAttributeNameRedrivePolicy)])
	if err != nil {
		return 0, fmt.Errorf("queue %s: %w", queue, err)
	}
	r.max, r.fetched = max, time.Now()
	return max, nil
}

// parseMaxReceiveCount reads maxReceiveCount from a RedrivePolicy, which SQS gives as a
// number or as a string; an empty policy is 0.
func parseMaxReceiveCount(policy string) (int, error) {
	if policy == "" {
		return 0, nil
	}
	var p struct {
		MaxReceiveCount json.RawMessage `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(policy), &p); err != nil {
		return 0, fmt.Errorf("reading its RedrivePolicy %q: %w", policy, err)
	}
	var s string
	if json.Unmarshal(p.MaxReceiveCount, &s) != nil {
		s = string(p.MaxReceiveCount)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("its RedrivePolicy has no usable maxReceiveCount: %q", policy)
	}
	return n, nil
}

// maxVisibility stays under SQS's limit of 12 hours from the receive.
const maxVisibility = 11 * time.Hour

// retryVisibility is how long a message that failed with a passing error on its n-th
// receive stays hidden: the visibility timeout doubled per receive, so that the few
// receives SQS allows span a long outage of what the health probe cannot see (e.g. an
// admission webhook that is down while the API server answers reads).
func retryVisibility(receive int, base time.Duration) time.Duration {
	d := base
	for range receive - 1 {
		if d *= 2; d >= maxVisibility {
			return maxVisibility
		}
	}
	return d
}

// receiveCount is the message's ApproximateReceiveCount (1 when SQS did not say).
func receiveCount(m *sqstypes.Message) int {
	n, err := strconv.Atoi(m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)])
	if err != nil || n < 1 {
		return 1
	}
	return n
}
