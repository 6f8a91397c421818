package bridge_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/bridge"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

var customers atomic.Int32

// signingKeys are the signing keys of the customers onboarded with one, by customer id:
// send signs their messages, as their clients would on a shared queue.
var signingKeys sync.Map

// customer onboards a customer that signs its messages: its namespace labelled with its
// id, its signing Secret, an echo HandlerType and an Insight of the given capacity
// serving only that namespace. The namespace's Agendas are deleted after the spec, so
// flow control starts every spec from zero.
func customer(prefix string, capacity int32) (id, ns string) {
	GinkgoHelper()
	id = fmt.Sprintf("%s-%d", prefix, customers.Add(1))
	return id, onboard(id, prefix, capacity, true)
}

// unsignedCustomer onboards a customer without a signing Secret: the default install's
// customer before issue 11.
func unsignedCustomer(prefix string, capacity int32) (id, ns string) {
	GinkgoHelper()
	id = fmt.Sprintf("%s-%d", prefix, customers.Add(1))
	return id, onboard(id, prefix, capacity, false)
}

func onboard(id, prefix string, capacity int32, signed bool) string {
	GinkgoHelper()
	ns, err := env.CreateNamespace(ctx, prefix, map[string]string{popv1.CustomerLabel: id})
	Expect(err).NotTo(HaveOccurred())
	if signed {
		giveSigningKey(id, ns)
	}
	Expect(env.Client.Create(ctx, builders.MakeHandlerType("echo", ns, "pop-handlers/echo:dev").Obj())).To(Succeed())
	ins := builders.MakeInsight("local", ns).Capacity(capacity).Obj()
	ins.Spec.NamespaceSelector = nil
	Expect(env.Client.Create(ctx, ins)).To(Succeed())
	DeferCleanup(deleteAgendas, ns)
	return ns
}

// giveSigningKey creates the customer's signing Secret; send then signs its messages.
func giveSigningKey(id, ns string) {
	GinkgoHelper()
	key := []byte("key-of-" + id)
	Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: bridge.SigningSecret, Namespace: ns},
		Data: map[string][]byte{bridge.SigningKey: key}})).To(Succeed())
	signingKeys.Store(id, key)
}

// signedBy is the signature attribute of a body under its customer's key, if that
// customer signs; none otherwise.
func signedBy(body string) map[string]sqstypes.MessageAttributeValue {
	var claim struct {
		CustomerID string `json:"customerId"`
	}
	_ = json.Unmarshal([]byte(body), &claim)
	key, ok := signingKeys.Load(claim.CustomerID)
	if !ok {
		return nil
	}
	return signature(bridge.Sign(key.([]byte), []byte(body)))
}

func deleteAgendas(ns string) {
	GinkgoHelper()
	Expect(env.Client.DeleteAllOf(ctx, &popv1.Agenda{}, client.InNamespace(ns))).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(agendasIn(g, ns)).To(BeEmpty())
	}, framework.Timeout, framework.Interval).Should(Succeed())
}

// popAgenda is a message in the original POP's Agenda JSON: customerId and agendaId at
// the top, a chain of echo operations, the second reading the first's output.
func popAgenda(customerID, agendaID string) string {
	return fmt.Sprintf(`{"agendaId": %q, "customerId": %q, "agendaInsight": {"name": "legacy"},
		"params": {"title": "t-%s"},
		"operations": [
			{"name": "first", "type": "echo", "payload": {"title": "@<agenda.params::/title>"}},
			{"name": "second", "type": "echo", "payload": {"got": "@<first.out::/title>"}}
		]}`, agendaID, customerID, agendaID)
}

// send puts a message on the shared intake queue, signed as its customer's client would,
// and returns its id.
func send(body string) string {
	GinkgoHelper()
	return sendTo(queues.IntakeQueueURL, body, signedBy(body))
}

// sendRaw puts a message on the shared intake queue with exactly these attributes.
func sendRaw(body string, attrs map[string]sqstypes.MessageAttributeValue) string {
	GinkgoHelper()
	return sendTo(queues.IntakeQueueURL, body, attrs)
}

func sendTo(url, body string, attrs map[string]sqstypes.MessageAttributeValue) string {
	GinkgoHelper()
	in := &sqs.SendMessageInput{QueueUrl: awssdk.String(url), MessageBody: awssdk.String(body), MessageAttributes: attrs}
	out, err := aws.SQS.SendMessage(ctx, in)
	Expect(err).NotTo(HaveOccurred())
	return awssdk.ToString(out.MessageId)
}

func agendasIn(g Gomega, ns string) []popv1.Agenda {
	var list popv1.AgendaList
	g.Expect(env.Client.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	return list.Items
}

// allBridged counts the bridged Agendas in the whole cluster.
func allBridged(g Gomega) int {
	var list popv1.AgendaList
	g.Expect(env.Client.List(ctx, &list, client.MatchingLabels{bridge.SourceLabel: bridge.SourceSQS})).To(Succeed())
	return len(list.Items)
}

// queueDepth is what a queue holds: visible, being handled, or delayed.
func queueDepth(g Gomega, url string) int {
	names := []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
		sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible, sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed}
	out, err := aws.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: awssdk.String(url), AttributeNames: names})
	g.Expect(err).NotTo(HaveOccurred())
	n := 0
	for _, k := range names {
		v, err := strconv.Atoi(out.Attributes[string(k)])
		g.Expect(err).NotTo(HaveOccurred())
		n += v
	}
	return n
}

// deadLetters collects the dead-letter queue's messages by the id of the message they were.
var deadLetters = struct {
	sync.Mutex
	byID map[string]sqstypes.Message
}{byID: map[string]sqstypes.Message{}}

// drainDeadLetters moves what the dead-letter queue holds into deadLetters.
func drainDeadLetters(g Gomega) { drainDeadLettersOf(g, queues.DeadLetterQueueURL) }

// drainDeadLettersOf moves what a dead-letter queue holds into deadLetters, by the id of
// the message each was: the bridge's pop-source-message-id, or the message's own id for
// one SQS's redrive moved (it keeps its id and carries no reason).
func drainDeadLettersOf(g Gomega, url string) {
	for {
		out, err := aws.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: awssdk.String(url),
			MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}})
		g.Expect(err).NotTo(HaveOccurred())
		if len(out.Messages) == 0 {
			return
		}
		var entries []sqstypes.DeleteMessageBatchRequestEntry
		deadLetters.Lock()
		for _, m := range out.Messages {
			id := awssdk.ToString(m.MessageAttributes[bridge.AttrSourceMessage].StringValue)
			if id == "" {
				id = awssdk.ToString(m.MessageId)
			}
			deadLetters.byID[id] = m
			entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: m.MessageId, ReceiptHandle: m.ReceiptHandle})
		}
		deadLetters.Unlock()
		_, err = aws.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: awssdk.String(url), Entries: entries})
		g.Expect(err).NotTo(HaveOccurred())
	}
}

// deadLetterOf waits for the dead letter of a message and returns its reason and detail.
func deadLetterOf(messageID string) (reason, detail string) {
	GinkgoHelper()
	return deadLetterIn(queues.DeadLetterQueueURL, messageID, framework.Timeout)
}

// deadLetterIn waits for the dead letter of a message in a dead-letter queue.
func deadLetterIn(url, messageID string, timeout time.Duration) (reason, detail string) {
	GinkgoHelper()
	var m sqstypes.Message
	Eventually(func(g Gomega) {
		drainDeadLettersOf(g, url)
		deadLetters.Lock()
		defer deadLetters.Unlock()
		var ok bool
		m, ok = deadLetters.byID[messageID]
		g.Expect(ok).To(BeTrue(), "message %s is not in the dead-letter queue", messageID)
	}, timeout, framework.Interval).Should(Succeed())
	return awssdk.ToString(m.MessageAttributes[bridge.AttrReason].StringValue), awssdk.ToString(m.MessageAttributes[bridge.AttrDetail].StringValue)
}

// recordOf reads a DynamoDB record (nil when there is none).
func recordOf(g Gomega, customerID, agendaID string) *bridge.Record {
	r, err := store.Get(ctx, customerID, agendaID)
	g.Expect(err).NotTo(HaveOccurred())
	return r
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	Expect(err).NotTo(HaveOccurred())
	return string(b)
}
