// Package bridge connects POP to AWS for clients that never touch the cluster: an SQS
// intake that turns messages into Agendas without losing or duplicating any, and a
// DynamoDB mirror of every bridged Agenda's state. Each cluster polls its own queues, so
// only outbound connections are needed. See docs/aws-bridge.md.
package bridge

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// MirrorScope says which Agendas the status mirror writes to DynamoDB.
type MirrorScope string

const (
	// MirrorBridged mirrors the Agendas the intake created.
	MirrorBridged MirrorScope = "bridged"
	// MirrorAll also mirrors Agendas created with kubectl or popctl.
	MirrorAll MirrorScope = "all"
)

// QueueBinding binds an intake queue to one customer: only that customer may send to it
// (IAM), so the queue itself is the sender's identity and its messages need no signature.
type QueueBinding struct {
	Customer string
	URL      string
}

// Config is the bridge's configuration; the manager binds it to --bridge-* flags.
type Config struct {
	// IntakeQueues are shared SQS queue URLs polled for Agendas: any customer allowed to
	// send to one may claim any customerId, so every message on them must be signed.
	IntakeQueues []string
	// CustomerQueues are queues bound to one customer each. The intake is off when neither
	// list has a queue.
	CustomerQueues []QueueBinding
	// DeadLetterQueue receives refused messages with the reason as a message attribute.
	DeadLetterQueue string
	// Table is the DynamoDB table of Agenda records. Empty disables the mirror.
	Table string
	// Region, and endpoint overrides for emulators or VPC endpoints.
	Region           string
	SQSEndpoint      string
	DynamoDBEndpoint string
	// Mirror is which Agendas the mirror writes.
	Mirror MirrorScope
	// MaxPending stops receiving while this many bridged Agendas wait for admission.
	MaxPending int
	// MaxPendingPerCustomer bounds one customer's waiting Agendas, so that one customer's
	// stuck Agendas (paused Insight, no match) cannot hold everyone's intake.
	MaxPendingPerCustomer int
	// DeferDelay is how long a shared queue's message of a customer at its bound waits in
	// SQS before it is received again.
	DeferDelay time.Duration
	// MaxMessageBytes refuses larger messages (SQS allows up to 1 MiB; an Agenda must also
	// fit etcd's object limit with its status).
	MaxMessageBytes int
	// Pollers is the number of concurrent long polls per queue.
	Pollers int
	// WaitTime is the long-poll wait; VisibilityTimeout how long a received message stays
	// hidden before SQS redelivers it (when the bridge could not finish it).
	WaitTime          time.Duration
	VisibilityTimeout time.Duration
	// RequireSignatures also requires signatures on customer queues (shared queues always
	// require them).
	RequireSignatures bool
	// RecordTTL, when positive, makes DynamoDB expire records of finished Agendas.
	RecordTTL time.Duration
	// TombstoneRetention is how long a deleted bridged Agenda's record keeps its agendaId
	// taken, so that a resent message does not run it again; 0 keeps it forever.
	TombstoneRetention time.Duration
	// Center is this cluster's name among the centers sharing the queues and the table:
	// the holder of the claims it makes (docs/centers.md). Unique per cluster.
	Center string
	// ClaimLease is how long a claim holds without renewal: the center renews the claims
	// of its unfinished Agendas every third of it; once it lapses another center that
	// receives the message (a redelivery or a resend) takes the claim over.
	ClaimLease time.Duration
	// CapacityAware bounds the pending bridged Agendas also by what this center's Insights
	// can admit soon: their free capacity plus CapacityHeadroom (docs/centers.md). It needs
	// list/watch on Insights.
	CapacityAware    bool
	CapacityHeadroom int
}

// DefaultConfig is the configuration before flags.
func DefaultConfig() Config {
	return Config{
		Mirror:                MirrorBridged,
		MaxPending:            500,
		MaxPendingPerCustomer: 100,
		DeferDelay:            time.Minute,
		MaxMessageBytes:       256 << 10,
		Pollers:               2,
		WaitTime:              20 * time.Second,
		VisibilityTimeout:     60 * time.Second,
		// SQS keeps a message at most 14 days: no copy of a message can arrive later than
		// that after the first, so the key needs keeping no longer by default.
		TombstoneRetention: 14 * 24 * time.Hour,
		Center:             "default",
		ClaimLease:         5 * time.Minute,
		CapacityHeadroom:   10,
	}
}

// Enabled says whether any part of the bridge is configured.
func (c *Config) Enabled() bool { return c.intakeEnabled() || c.Table != "" }

func (c *Config) intakeEnabled() bool { return len(c.IntakeQueues) > 0 || len(c.CustomerQueues) > 0 }

// BindFlags registers the --bridge-* flags.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	fs.Func("bridge-intake-queues", "Comma-separated SQS queue URLs to take Agendas from; the intake is off when empty.", func(v string) error {
		c.IntakeQueues = splitList(v)
		return nil
	})
	fs.Func("bridge-customer-queues", "Comma-separated customer=URL pairs: SQS queues bound to one customer each, whose messages act for that customer only.", func(v string) error {
		b, err := parseBindings(v)
		c.CustomerQueues = b
		return err
	})
	fs.StringVar(&c.DeadLetterQueue, "bridge-dead-letter-queue", c.DeadLetterQueue, "SQS queue URL for refused messages (required with an intake).")
	fs.StringVar(&c.Table, "bridge-table", c.Table, "DynamoDB table mirroring Agenda state (required with an intake).")
	fs.StringVar(&c.Region, "bridge-region", c.Region, "AWS region; the default credential chain's when empty.")
	fs.StringVar(&c.SQSEndpoint, "bridge-sqs-endpoint", c.SQSEndpoint, "SQS endpoint override (emulators, VPC endpoints).")
	fs.StringVar(&c.DynamoDBEndpoint, "bridge-dynamodb-endpoint", c.DynamoDBEndpoint, "DynamoDB endpoint override.")
	fs.Func("bridge-mirror", "Agendas mirrored to DynamoDB: bridged (created from SQS) or all.", func(v string) error {
		switch MirrorScope(v) {
		case MirrorBridged, MirrorAll:
			c.Mirror = MirrorScope(v)
			return nil
		}
		return errors.New("want bridged or all")
	})
	fs.IntVar(&c.MaxPending, "bridge-max-pending", c.MaxPending, "Stop receiving while this many bridged Agendas wait for admission.")
	fs.IntVar(&c.MaxPendingPerCustomer, "bridge-max-pending-per-customer", c.MaxPendingPerCustomer, "Take no more messages of a customer while this many of its bridged Agendas wait for admission.")
	fs.DurationVar(&c.DeferDelay, "bridge-defer-delay", c.DeferDelay, "How long a shared queue's message of a customer at its bound waits before it is received again (at most 15m).")
	fs.IntVar(&c.MaxMessageBytes, "bridge-max-message-bytes", c.MaxMessageBytes, "Refuse larger messages.")
	fs.IntVar(&c.Pollers, "bridge-pollers", c.Pollers, "Concurrent long polls per intake queue.")
	fs.DurationVar(&c.WaitTime, "bridge-wait-time", c.WaitTime, "SQS long-poll wait (at most 20s).")
	fs.DurationVar(&c.VisibilityTimeout, "bridge-visibility-timeout", c.VisibilityTimeout, "How long a message being handled stays hidden.")
	fs.BoolVar(&c.RequireSignatures, "bridge-require-signatures", c.RequireSignatures, "Also on customer queues, refuse messages from customers without a signing Secret (shared queues always require signatures).")
	fs.DurationVar(&c.RecordTTL, "bridge-record-ttl", c.RecordTTL, "Expire DynamoDB records this long after their Agenda finished; 0 keeps them until the Agenda is deleted.")
	fs.StringVar(&c.Center, "center", c.Center, "This cluster's name among the centers sharing the bridge's queues and table (unique per cluster; a DNS label).")
	fs.DurationVar(&c.ClaimLease, "bridge-claim-lease", c.ClaimLease, "How long this center's claim on an unfinished Agenda holds without renewal before another center may take it over.")
	fs.BoolVar(&c.CapacityAware, "bridge-capacity-aware", c.CapacityAware, "Receive only while the pending bridged Agendas are fewer than the free capacity of this center's Insights plus --bridge-capacity-headroom (needs list/watch on Insights).")
	fs.IntVar(&c.CapacityHeadroom, "bridge-capacity-headroom", c.CapacityHeadroom, "With --bridge-capacity-aware, how many bridged Agendas may wait beyond the Insights' free capacity.")
	fs.DurationVar(&c.TombstoneRetention, "bridge-tombstone-retention", c.TombstoneRetention, "Keep a deleted bridged Agenda's agendaId taken this long (its record becomes a tombstone); 0 keeps it forever.")
}

// Args is the command line that BindFlags parses back into c: every --bridge-* flag and
// --center, the shipped ones (config/bridge, the Helm chart) first in their order, then the
// tuning ones. Tests that run the manager binary pass a Config to it this way.
func (c Config) Args() []string {
	var out []string
	add := func(flag string, v any) { out = append(out, fmt.Sprintf("--%s=%v", flag, v)) }
	if len(c.IntakeQueues) > 0 {
		add("bridge-intake-queues", strings.Join(c.IntakeQueues, ","))
	}
	if len(c.CustomerQueues) > 0 {
		pairs := make([]string, len(c.CustomerQueues))
		for k, b := range c.CustomerQueues {
			pairs[k] = b.Customer + "=" + b.URL
		}
		add("bridge-customer-queues", strings.Join(pairs, ","))
	}
	add("bridge-dead-letter-queue", c.DeadLetterQueue)
	add("bridge-table", c.Table)
	add("bridge-region", c.Region)
	add("center", c.Center)
	add("bridge-claim-lease", c.ClaimLease)
	add("bridge-mirror", c.Mirror)
	add("bridge-max-pending", c.MaxPending)
	add("bridge-max-pending-per-customer", c.MaxPendingPerCustomer)
	add("bridge-capacity-aware", c.CapacityAware)
	add("bridge-capacity-headroom", c.CapacityHeadroom)
	add("bridge-require-signatures", c.RequireSignatures)
	add("bridge-sqs-endpoint", c.SQSEndpoint)
	add("bridge-dynamodb-endpoint", c.DynamoDBEndpoint)
	add("bridge-defer-delay", c.DeferDelay)
	add("bridge-max-message-bytes", c.MaxMessageBytes)
	add("bridge-pollers", c.Pollers)
	add("bridge-wait-time", c.WaitTime)
	add("bridge-visibility-timeout", c.VisibilityTimeout)
	add("bridge-record-ttl", c.RecordTTL)
	add("bridge-tombstone-retention", c.TombstoneRetention)
	return out
}

// Validate reports settings that cannot work together.
func (c *Config) Validate() error {
	if c.intakeEnabled() && (c.DeadLetterQueue == "" || c.Table == "") {
		return errors.New("--bridge-intake-queues and --bridge-customer-queues need --bridge-dead-letter-queue and --bridge-table: a message is deleted only once it is accounted for")
	}
	if c.WaitTime > 20*time.Second || c.WaitTime < 0 {
		return errors.New("--bridge-wait-time must be between 0 and 20s (the SQS limit)")
	}
	if c.VisibilityTimeout < time.Second || c.VisibilityTimeout > 12*time.Hour {
		return errors.New("--bridge-visibility-timeout must be between 1s and 12h (the SQS limits)")
	}
	if err := c.validateFlow(); err != nil {
		return err
	}
	if err := c.validateClaims(); err != nil {
		return err
	}
	return c.validateQueues()
}

// validateFlow checks flow control's settings.
func (c *Config) validateFlow() error {
	if c.DeferDelay < 0 || c.DeferDelay > 15*time.Minute {
		return errors.New("--bridge-defer-delay must be between 0 and 15m (the SQS limit)")
	}
	if c.CapacityHeadroom < 0 {
		return errors.New("--bridge-capacity-headroom must not be negative")
	}
	if c.Pollers < 1 || c.MaxPending < 1 || c.MaxPendingPerCustomer < 1 || c.MaxMessageBytes < 1 {
		return errors.New("--bridge-pollers, --bridge-max-pending, --bridge-max-pending-per-customer and --bridge-max-message-bytes must be positive")
	}
	return nil
}

// validateClaims checks what keeps an agendaId taken: the center's name (the holder of its
// claims), the claims' lease, and the tombstones' retention.
func (c *Config) validateClaims() error {
	if c.TombstoneRetention < 0 {
		return errors.New("--bridge-tombstone-retention must not be negative")
	}
	if errs := validation.IsDNS1123Label(c.Center); len(errs) > 0 {
		return fmt.Errorf("--center %q: %s", c.Center, strings.Join(errs, "; "))
	}
	if c.ClaimLease < 3*time.Second {
		return errors.New("--bridge-claim-lease must be at least 3s")
	}
	return nil
}

// validateQueues refuses a queue listed twice: a queue both shared and bound, or bound to
// two customers, would make a message's identity ambiguous.
func (c *Config) validateQueues() error {
	seen := map[string]bool{}
	for _, q := range c.IntakeQueues {
		if seen[q] {
			return fmt.Errorf("intake queue %s is listed twice", q)
		}
		seen[q] = true
	}
	for _, b := range c.CustomerQueues {
		if errs := validation.IsValidLabelValue(b.Customer); b.Customer == "" || len(errs) > 0 {
			return fmt.Errorf("--bridge-customer-queues: customer %q is not a valid customer id: %s", b.Customer, strings.Join(errs, "; "))
		}
		if b.URL == "" || seen[b.URL] {
			return fmt.Errorf("--bridge-customer-queues: queue %q of customer %s is empty or listed twice", b.URL, b.Customer)
		}
		seen[b.URL] = true
	}
	return nil
}

// parseBindings reads customer=URL pairs.
func parseBindings(v string) ([]QueueBinding, error) {
	var out []QueueBinding
	for _, pair := range splitList(v) {
		customer, url, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not customer=URL", pair)
		}
		out = append(out, QueueBinding{Customer: strings.TrimSpace(customer), URL: strings.TrimSpace(url)})
	}
	return out, nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
