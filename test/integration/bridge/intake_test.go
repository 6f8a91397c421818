package bridge_test

import (
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/bridge"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

var _ = Describe("SQS intake", func() {
	It("turns a POP Agenda message into an Agenda that runs, mirroring each state to DynamoDB", func() {
		id, ns := customer("happy", 1)
		By("pausing the Insight, so that the Agenda is seen waiting")
		setPaused(ns, true)
		send(popAgenda(id, "Job-42/a"))
		name := bridge.AgendaName(id, "Job-42/a")
		Eventually(func(g Gomega) {
			r := recordOf(g, id, "Job-42/a")
			g.Expect(r).NotTo(BeNil())
			g.Expect(r.State).To(Equal(string(popv1.PhaseQueued)))
			g.Expect(r.Namespace).To(Equal(ns))
			g.Expect(r.AgendaName).To(Equal(name))
			g.Expect(r.Source).To(Equal(bridge.SourceSQS))
		}, framework.Timeout, framework.Interval).Should(Succeed())

		By("running it slowly enough to see it Running")
		sim.SetScript(podsim.EchoAfter(1500 * time.Millisecond))
		DeferCleanup(sim.SetScript, podsim.Script(podsim.Echo))
		setPaused(ns, false)
		Eventually(func(g Gomega) {
			r := recordOf(g, id, "Job-42/a")
			g.Expect(r.State).To(Equal(string(popv1.PhaseRunning)))
			g.Expect(r.AdmittedAt).NotTo(BeEmpty())
			g.Expect(r.Operations).To(ContainElement(HaveField("State", string(popv1.OperationExecuting))))
		}, framework.Timeout, 20*time.Millisecond).Should(Succeed())

		var ag popv1.Agenda
		Eventually(func(g Gomega) {
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &ag)).To(Succeed())
			g.Expect(ag.Status.Phase).To(Equal(popv1.PhaseSucceeded))
			r := recordOf(g, id, "Job-42/a")
			g.Expect(r.State).To(Equal(string(popv1.PhaseSucceeded)))
			g.Expect(r.PercentComplete).To(Equal(int32(100)))
			g.Expect(r.CompletedAt).NotTo(BeEmpty())
			g.Expect(r.Operations).To(HaveLen(2))
			g.Expect(r.Operations).To(HaveEach(HaveField("State", string(popv1.OperationSucceeded))))
		}, framework.Timeout, framework.Interval).Should(Succeed())
		Expect(ag.Labels).To(HaveKeyWithValue(bridge.SourceLabel, bridge.SourceSQS))
		Expect(ag.Annotations).To(HaveKeyWithValue(bridge.KeyAnnotation, "Job-42/a"))
		Expect(opOutput(&ag, "second")).To(MatchJSON(`{"got": "t-Job-42/a"}`))
		Eventually(func(g Gomega) int { return queueDepth(g, queues.IntakeQueueURL) }, framework.Timeout).Should(BeZero())
	})

	It("creates one Agenda from duplicate and resent messages with the same agendaId", func() {
		id, ns := customer("dup", 5)
		send(popAgenda(id, "same"))
		send(popAgenda(id, "same"))
		send(mustJSON(map[string]any{"customerId": id, "agendaId": "same", "priority": 7,
			"agenda": map[string]any{"operations": []any{map[string]any{"name": "other", "type": "echo"}}}}))
		Eventually(func(g Gomega) int { return queueDepth(g, queues.IntakeQueueURL) }, framework.Timeout).Should(BeZero())
		Consistently(func(g Gomega) int { return len(agendasIn(g, ns)) }, time.Second).Should(Equal(1))
		Expect(agendasIn(Default, ns)[0].Name).To(Equal(bridge.AgendaName(id, "same")))
	})

	It("accepts the envelope form with priority, insight and labels", func() {
		id, ns := customer("env", 5)
		send(mustJSON(map[string]any{"customerId": id, "agendaId": "e-1", "priority": 9, "insight": "local",
			"labels": map[string]string{"team": "video"},
			"agenda": map[string]any{"params": map[string]any{"x": 1}, "operations": []any{
				map[string]any{"name": "only", "type": "echo", "payload": "@<agenda.params::/x>"}}}}))
		var ag popv1.Agenda
		Eventually(func(g Gomega) {
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: bridge.AgendaName(id, "e-1")}, &ag)).To(Succeed())
			g.Expect(ag.Status.Phase).To(Equal(popv1.PhaseSucceeded))
		}, framework.Timeout, framework.Interval).Should(Succeed())
		Expect(ag.Spec.Priority).To(Equal(int32(9)))
		Expect(ag.Spec.Insight).To(Equal("local"))
		Expect(ag.Labels).To(HaveKeyWithValue("team", "video"))
	})

	DescribeTable("sends a bad message to the dead-letter queue with its reason, creating nothing",
		func(body func(customerID string) string, wantReason, wantDetail string) {
			id, _ := customer("bad", 5)
			before := allBridged(Default)
			msg := send(body(id))
			reason, detail := deadLetterOf(msg)
			Expect(reason).To(Equal(wantReason))
			Expect(detail).To(ContainSubstring(wantDetail))
			Eventually(func(g Gomega) int { return queueDepth(g, queues.IntakeQueueURL) }, framework.Timeout).Should(BeZero())
			Expect(allBridged(Default)).To(Equal(before))
			customerID, key := id, "bad-1"
			if wantReason == bridge.RejectNotJSON {
				customerID, key = "_unknown", "message:"+msg
			}
			if wantReason == bridge.RejectMissingField {
				key = "message:" + msg
			}
			if wantReason == bridge.RejectUnknownCustomer {
				customerID = "nobody"
			}
			Eventually(func(g Gomega) {
				r := recordOf(g, customerID, key)
				g.Expect(r).NotTo(BeNil())
				g.Expect(r.State).To(Equal(bridge.StateRejected))
				g.Expect(r.Reason).To(Equal(wantReason))
			}, framework.Timeout, framework.Interval).Should(Succeed())
		},
		Entry("not JSON", func(string) string { return "operations: [this is not json" }, bridge.RejectNotJSON, "invalid character"),
		Entry("too large", func(id string) string { return strings.Repeat(" ", 33<<10) + popAgenda(id, "bad-1") }, bridge.RejectTooLarge, "the limit is 32768"),
		Entry("no agendaId", func(id string) string { return popAgenda(id, "") }, bridge.RejectMissingField, "agendaId: required"),
		Entry("a reference to an unknown operation", func(id string) string {
			return mustJSON(map[string]any{"customerId": id, "agendaId": "bad-1", "agenda": map[string]any{"operations": []any{
				map[string]any{"name": "a", "type": "echo", "payload": "@<ghost.out>"}}}})
		}, bridge.RejectInvalidAgenda, `agenda.operations[0].payload`),
		Entry("a dependency cycle", func(id string) string {
			return mustJSON(map[string]any{"customerId": id, "agendaId": "bad-1", "operations": []any{
				map[string]any{"name": "a", "type": "echo", "payload": "@<b.out>"},
				map[string]any{"name": "b", "type": "echo", "payload": "@<a.out>"}}})
		}, bridge.RejectInvalidAgenda, "cycle"),
		Entry("an operation name the API server refuses", func(id string) string {
			return mustJSON(map[string]any{"customerId": id, "agendaId": "bad-1", "operations": []any{
				map[string]any{"name": "Not A Name", "type": "echo"}}})
		}, bridge.RejectInvalidAgenda, "spec.operations[0].name"),
		Entry("an unknown customer", func(string) string { return popAgenda("nobody", "bad-1") }, bridge.RejectUnknownCustomer, "no namespace is labelled pop.dev/customer=nobody"),
	)

	Context("with a customer's signing Secret", func() {
		It("accepts signed messages and refuses unsigned or forged ones", func() {
			id, ns := customer("signed", 5)
			key := []byte("s3cret")
			Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: bridge.SigningSecret, Namespace: ns},
				Data: map[string][]byte{bridge.SigningKey: key}})).To(Succeed())

			good := popAgenda(id, "signed-1")
			send(good, signature(bridge.Sign(key, []byte(good))))
			unsigned := send(popAgenda(id, "bad-1"))
			forged := popAgenda(id, "forged-1")
			forgedID := send(forged, signature(bridge.Sign([]byte("another customer's key"), []byte(forged))))

			Eventually(func(g Gomega) {
				var ag popv1.Agenda
				g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: bridge.AgendaName(id, "signed-1")}, &ag)).To(Succeed())
			}, framework.Timeout, framework.Interval).Should(Succeed())
			reason, detail := deadLetterOf(unsigned)
			Expect(reason).To(Equal(bridge.RejectBadSignature))
			Expect(detail).To(ContainSubstring("no pop-signature attribute"))
			reason, _ = deadLetterOf(forgedID)
			Expect(reason).To(Equal(bridge.RejectBadSignature))
			Eventually(func(g Gomega) int { return queueDepth(g, queues.IntakeQueueURL) }, framework.Timeout).Should(BeZero())
			Expect(agendasIn(Default, ns)).To(HaveLen(1))
		})
	})

	It("holds messages in SQS while the pending bound is reached, and resumes below it", func() {
		id, ns := customer("flow", 10)
		setPaused(ns, true)
		const sent = 8 // the suite's bound is 5
		for i := range sent {
			send(popAgenda(id, "flow-"+string(rune('a'+i))))
		}
		Eventually(func(g Gomega) {
			g.Expect(agendasIn(g, ns)).To(HaveLen(baseConfig.MaxPending))
			// The handled messages are deleted once their records are written.
			g.Expect(queueDepth(g, queues.IntakeQueueURL)).To(Equal(sent - baseConfig.MaxPending))
		}, framework.Timeout, framework.Interval).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(agendasIn(g, ns)).To(HaveLen(baseConfig.MaxPending))
			g.Expect(queueDepth(g, queues.IntakeQueueURL)).To(Equal(sent - baseConfig.MaxPending))
		}, 2*time.Second, 100*time.Millisecond).Should(Succeed())

		setPaused(ns, false)
		Eventually(func(g Gomega) {
			list := agendasIn(g, ns)
			g.Expect(list).To(HaveLen(sent))
			g.Expect(list).To(HaveEach(HaveField("Status.Phase", popv1.PhaseSucceeded)))
		}, framework.Timeout, framework.Interval).Should(Succeed())
		Expect(queueDepth(Default, queues.IntakeQueueURL)).To(BeZero())
	})
})

func signature(sig string) map[string]sqstypes.MessageAttributeValue {
	return map[string]sqstypes.MessageAttributeValue{
		bridge.AttrSignature: {DataType: awssdk.String("String"), StringValue: awssdk.String(sig)},
	}
}

func setPaused(ns string, paused bool) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		var ins popv1.Insight
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "local"}, &ins)).To(Succeed())
		ins.Spec.Paused = paused
		g.Expect(env.Client.Update(ctx, &ins)).To(Succeed())
	}, framework.Timeout, framework.Interval).Should(Succeed())
}

func opOutput(ag *popv1.Agenda, name string) string {
	for _, o := range ag.Status.Operations {
		if o.Name == name {
			return o.Output
		}
	}
	return ""
}
