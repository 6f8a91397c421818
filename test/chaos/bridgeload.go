package chaos

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/pop-operator/pop/internal/bridge"
)

// BridgeInsight is the Insight the bridged Agendas name (in OperatorNamespace).
const BridgeInsight = "bridge"

// Poison kinds: one in PoisonEvery messages is malformed, in turn of these kinds, each with
// the pop-reject-reason the bridge must give it.
var poisons = []struct{ kind, reason string }{
	{"not-json", bridge.RejectNotJSON},
	{"no-agenda-id", bridge.RejectMissingField},
	{"invalid-agenda", bridge.RejectInvalidAgenda},
	{"unknown-customer", bridge.RejectUnknownCustomer},
	{"bad-signature", bridge.RejectBadSignature},
}

// PoisonEvery makes 5 % of the messages poison.
const PoisonEvery = 20

// Message is one message of the bridge load and what must become of it.
type Message struct {
	I        int
	Customer string // the customerId it claims
	AgendaID string // its agendaId ("" when it has none)
	Body     string
	// Signature is the pop-signature attribute ("" for none).
	Signature string
	// Poison is its poison kind, "" for a valid message; Reason the reject reason it must get.
	Poison, Reason string
	SentAt         time.Time
	MessageID      string
}

// BodyKey identifies a message by its body (a dead letter keeps the body unchanged).
func BodyKey(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:12])
}

// SigningKeyOf is customer c's signing key, as its Secret holds it.
func SigningKeyOf(c string) []byte { return []byte("chaos-key-of-" + c) }

// BuildMessage is message i of run id: a signed envelope of a one-operation Agenda for
// Customer(i), or, every PoisonEvery-th, a poison message of the next kind.
func BuildMessage(run string, i int) Message {
	m := Message{I: i, Customer: Customer(i), AgendaID: fmt.Sprintf("%s-m%05d", run, i)}
	op := map[string]any{"name": "main", "type": EchoType,
		"payload": map[string]any{"i": i, "chaos": Behaviour{RunMs: 20 + (i*37)%80}}}
	agenda := map[string]any{"operations": []any{op}}
	env := map[string]any{"customerId": m.Customer, "agendaId": m.AgendaID, "insight": OperatorNamespace + "/" + BridgeInsight, "agenda": agenda}
	if i%PoisonEvery == PoisonEvery-1 {
		p := poisons[(i/PoisonEvery)%len(poisons)]
		m.Poison, m.Reason = p.kind, p.reason
		switch p.kind {
		case "not-json":
			m.Body = fmt.Sprintf(`{"customerId": %q, "agendaId": %q, "agenda": {"operations": [`, m.Customer, m.AgendaID)
			m.Signature = bridge.Sign(SigningKeyOf(m.Customer), []byte(m.Body))
			return m
		case "no-agenda-id":
			delete(env, "agendaId")
			env["nonce"] = m.AgendaID // keeps the body unique
			m.AgendaID = ""
		case "invalid-agenda":
			op["payload"] = map[string]any{"from": "@<ghost.out>"}
		case "unknown-customer":
			m.Customer = "nobody-" + strconv.Itoa(i)
			env["customerId"] = m.Customer
		}
	}
	b, _ := json.Marshal(env)
	m.Body = string(b)
	m.Signature = bridge.Sign(SigningKeyOf(m.Customer), b)
	if m.Poison == "bad-signature" {
		m.Signature = bridge.Sign([]byte("not-the-key"), b)
	}
	return m
}

// Sender sends the bridge load to the intake queue at a steady rate, retrying every send
// until SQS accepts it; Pause holds it (the SQS restart).
type Sender struct {
	SQS *sqs.Client
	URL string
	Run string

	mu      sync.Mutex
	sent    []Message
	next    int
	refused int
	paused  bool
}

// Send sends n more messages over d in batches of up to 10.
func (s *Sender) Send(ctx context.Context, n int, d time.Duration) {
	const batch = 10
	gap := d / time.Duration(max((n+batch-1)/batch, 1))
	for done := 0; done < n && ctx.Err() == nil; done += batch {
		s.waitUnpaused(ctx)
		var ms []Message
		s.mu.Lock()
		for k := 0; k < batch && done+k < n; k++ {
			ms = append(ms, BuildMessage(s.Run, s.next))
			s.next++
		}
		s.mu.Unlock()
		start := time.Now()
		s.sendBatch(ctx, ms)
		sleep(ctx, gap-time.Since(start))
	}
}

func (s *Sender) waitUnpaused(ctx context.Context) {
	for ctx.Err() == nil {
		s.mu.Lock()
		p := s.paused
		s.mu.Unlock()
		if !p {
			return
		}
		sleep(ctx, 50*time.Millisecond)
	}
}

// Pause stops sending after the batch in flight; Resume goes on.
func (s *Sender) Pause() {
	s.mu.Lock()
	s.paused = true
	s.mu.Unlock()
}

// Resume lets Send go on.
func (s *Sender) Resume() {
	s.mu.Lock()
	s.paused = false
	s.mu.Unlock()
}

func (s *Sender) sendBatch(ctx context.Context, ms []Message) {
	left := map[string]*Message{}
	for i := range ms {
		left[strconv.Itoa(i)] = &ms[i]
	}
	for len(left) > 0 && ctx.Err() == nil {
		in := &sqs.SendMessageBatchInput{QueueUrl: awssdk.String(s.URL)}
		for id, m := range left {
			e := sqstypes.SendMessageBatchRequestEntry{Id: awssdk.String(id), MessageBody: awssdk.String(m.Body)}
			if m.Signature != "" {
				e.MessageAttributes = map[string]sqstypes.MessageAttributeValue{
					bridge.AttrSignature: {DataType: awssdk.String("String"), StringValue: awssdk.String(m.Signature)}}
			}
			in.Entries = append(in.Entries, e)
		}
		out, err := s.SQS.SendMessageBatch(ctx, in)
		if err != nil {
			s.countRefused(len(left))
			sleep(ctx, 500*time.Millisecond)
			continue
		}
		now := time.Now()
		s.mu.Lock()
		for _, ok := range out.Successful {
			m := left[awssdk.ToString(ok.Id)]
			m.SentAt, m.MessageID = now, awssdk.ToString(ok.MessageId)
			s.sent = append(s.sent, *m)
			delete(left, awssdk.ToString(ok.Id))
		}
		s.refused += len(out.Failed)
		s.mu.Unlock()
		if len(left) > 0 {
			sleep(ctx, 500*time.Millisecond)
		}
	}
}

func (s *Sender) countRefused(n int) {
	s.mu.Lock()
	s.refused += n
	s.mu.Unlock()
}

// Sent are the messages SQS accepted, in order.
func (s *Sender) Sent() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.sent...)
}

// Refused is how many sends failed and were retried.
func (s *Sender) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}
