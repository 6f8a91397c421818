// Package bridge connects POP to AWS for clients that never touch the cluster: an SQS
// intake that turns messages into Agendas without losing or duplicating any, and a
// DynamoDB mirror of every bridged Agenda's state. Each cluster polls its own queues, so
// only outbound connections are needed. See docs/aws-bridge.md.
package bridge

import (
	"errors"
	"flag"
	"strings"
	"time"
)

// MirrorScope says which Agendas the status mirror writes to DynamoDB.
type MirrorScope string

const (
	// MirrorBridged mirrors the Agendas the intake created.
	MirrorBridged MirrorScope = "bridged"
	// MirrorAll also mirrors Agendas created with kubectl or popctl.
	MirrorAll MirrorScope = "all"
)

// Config is the bridge's configuration; the manager binds it to --bridge-* flags.
type Config struct {
	// IntakeQueues are the SQS queue URLs polled for Agendas. Empty disables the intake.
	IntakeQueues []string
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
	// MaxMessageBytes refuses larger messages (SQS allows up to 1 MiB; an Agenda must also
	// fit etcd's object limit with its status).
	MaxMessageBytes int
	// Pollers is the number of concurrent long polls per queue.
	Pollers int
	// WaitTime is the long-poll wait; VisibilityTimeout how long a received message stays
	// hidden before SQS redelivers it (when the bridge could not finish it).
	WaitTime          time.Duration
	VisibilityTimeout time.Duration
	// RequireSignatures refuses messages of customers without a signing Secret.
	RequireSignatures bool
	// RecordTTL, when positive, makes DynamoDB expire records of finished Agendas.
	RecordTTL time.Duration
}

// DefaultConfig is the configuration before flags.
func DefaultConfig() Config {
	return Config{
		Mirror:            MirrorBridged,
		MaxPending:        500,
		MaxMessageBytes:   256 << 10,
		Pollers:           2,
		WaitTime:          20 * time.Second,
		VisibilityTimeout: 60 * time.Second,
	}
}

// Enabled says whether any part of the bridge is configured.
func (c *Config) Enabled() bool { return len(c.IntakeQueues) > 0 || c.Table != "" }

// BindFlags registers the --bridge-* flags.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	fs.Func("bridge-intake-queues", "Comma-separated SQS queue URLs to take Agendas from; the intake is off when empty.", func(v string) error {
		c.IntakeQueues = splitList(v)
		return nil
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
	fs.IntVar(&c.MaxMessageBytes, "bridge-max-message-bytes", c.MaxMessageBytes, "Refuse larger messages.")
	fs.IntVar(&c.Pollers, "bridge-pollers", c.Pollers, "Concurrent long polls per intake queue.")
	fs.DurationVar(&c.WaitTime, "bridge-wait-time", c.WaitTime, "SQS long-poll wait (at most 20s).")
	fs.DurationVar(&c.VisibilityTimeout, "bridge-visibility-timeout", c.VisibilityTimeout, "How long a message being handled stays hidden.")
	fs.BoolVar(&c.RequireSignatures, "bridge-require-signatures", c.RequireSignatures, "Refuse messages from customers without a signing Secret.")
	fs.DurationVar(&c.RecordTTL, "bridge-record-ttl", c.RecordTTL, "Expire DynamoDB records this long after their Agenda finished; 0 keeps them until the Agenda is deleted.")
}

// Validate reports settings that cannot work together.
func (c *Config) Validate() error {
	if len(c.IntakeQueues) > 0 && (c.DeadLetterQueue == "" || c.Table == "") {
		return errors.New("--bridge-intake-queues needs --bridge-dead-letter-queue and --bridge-table: a message is deleted only once it is accounted for")
	}
	if c.WaitTime > 20*time.Second || c.WaitTime < 0 {
		return errors.New("--bridge-wait-time must be between 0 and 20s (the SQS limit)")
	}
	if c.Pollers < 1 || c.MaxPending < 1 || c.MaxMessageBytes < 1 {
		return errors.New("--bridge-pollers, --bridge-max-pending and --bridge-max-message-bytes must be positive")
	}
	return nil
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
