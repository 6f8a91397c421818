package bridge_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/bridge"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

var customers atomic.Int32

// customer onboards a customer: its namespace labelled with its id, an echo HandlerType
// and an Insight of the given capacity serving only that namespace. The namespace's
// Agendas are deleted after the spec, so flow control starts every spec from zero.
func customer(prefix string, capacity int32) (id, ns string) {
	GinkgoHelper()
	id = fmt.Sprintf("%s-%d", prefix, customers.Add(1))
	ns, err := env.CreateNamespace(ctx, prefix, map[string]string{popv1.CustomerLabel: id})
	Expect(err).NotTo(HaveOccurred())
	Expect(env.Client.Create(ctx, builders.MakeHandlerType("echo", ns, "pop-handlers/echo:dev").Obj())).To(Succeed())
	ins := builders.MakeInsight("local", ns).Capacity(capacity).Obj()
	ins.Spec.NamespaceSelector = nil
	Expect(env.Client.Create(ctx, ins)).To(Succeed())
	DeferCleanup(deleteAgendas, ns)
	return id, ns
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

// send puts a message on the intake queue and returns its id.
func send(body string, attrs ...map[string]sqstypes.MessageAttributeValue) string {
	GinkgoHelper()
	in := &sqs.SendMessageInput{QueueUrl: awssdk.String(queues.IntakeQueueURL), MessageBody: awssdk.String(body)}
	if len(attrs) > 0 {
		in.MessageAttributes = attrs[0]
	}
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

// queueDepth is what the intake queue holds, visible or being handled.
func queueDepth(g Gomega, url string) int {
	out, err := aws.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: awssdk.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	g.Expect(err).NotTo(HaveOccurred())
	n := 0
	for _, k := range []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
		sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible} {
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
func drainDeadLetters(g Gomega) {
	for {
		out, err := aws.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: awssdk.String(queues.DeadLetterQueueURL),
			MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}})
		g.Expect(err).NotTo(HaveOccurred())
		if len(out.Messages) == 0 {
			return
		}
		var entries []sqstypes.DeleteMessageBatchRequestEntry
		deadLetters.Lock()
		for _, m := range out.Messages {
			id := awssdk.ToString(m.MessageAttributes[bridge.AttrSourceMessage].StringValue)
			deadLetters.byID[id] = m
			entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: m.MessageId, ReceiptHandle: m.ReceiptHandle})
		}
		deadLetters.Unlock()
		_, err = aws.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: awssdk.String(queues.DeadLetterQueueURL), Entries: entries})
		g.Expect(err).NotTo(HaveOccurred())
	}
}

// deadLetterOf waits for the dead letter of a message and returns its reason and detail.
func deadLetterOf(messageID string) (reason, detail string) {
	GinkgoHelper()
	var m sqstypes.Message
	Eventually(func(g Gomega) {
		drainDeadLetters(g)
		deadLetters.Lock()
		defer deadLetters.Unlock()
		var ok bool
		m, ok = deadLetters.byID[messageID]
		g.Expect(ok).To(BeTrue(), "message %s is not in the dead-letter queue", messageID)
	}, framework.Timeout, framework.Interval).Should(Succeed())
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
