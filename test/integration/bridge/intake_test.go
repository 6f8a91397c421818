package bridge_test

import (
	"fmt"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
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
			// A refusal lands in the partition of the customer that sent it, never of one it
			// merely claims: before its signature is checked, under _unverified.
			customerID, key := id, "bad-1"
			switch wantReason {
			case bridge.RejectNotJSON, bridge.RejectTooLarge, bridge.RejectUnknownCustomer:
				customerID, key = bridge.UnverifiedCustomer, "message:"+msg
			case bridge.RejectMissingField:
				key = "message:" + msg
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
			good := popAgenda(id, "signed-1")
			send(good)
			unsigned := sendRaw(popAgenda(id, "bad-1"), nil)
			forged := popAgenda(id, "forged-1")
			forgedID := sendRaw(forged, signature(bridge.Sign([]byte("another customer's key"), []byte(forged))))

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

	// Issue 11, item 11: on the default install one customer could submit as another.
	Context("tenancy", func() {
		It("on a shared queue, refuses a message claiming a customer without that customer's signature: nothing created, its key and its partition untouched", func() {
			victim, victimNS := unsignedCustomer("victim", 5) // no signing Secret: the default install
			attacker, _ := customer("attacker", 5)
			claim := popAgenda(victim, "victim-1")
			unsigned := sendRaw(claim, nil)
			signedAsAttacker := sendRaw(popAgenda(victim, "victim-2"), signedBy(popAgenda(attacker, "victim-2")))

			reason, detail := deadLetterOf(unsigned)
			Expect(reason).To(Equal(bridge.RejectBadSignature))
			Expect(detail).To(ContainSubstring("shared queue"))
			reason, _ = deadLetterOf(signedAsAttacker)
			Expect(reason).To(Equal(bridge.RejectBadSignature))
			Eventually(func(g Gomega) int { return queueDepth(g, queues.IntakeQueueURL) }, framework.Timeout).Should(BeZero())
			Expect(agendasIn(Default, victimNS)).To(BeEmpty(), "an Agenda was created in the claimed customer's namespace")
			for _, key := range []string{"victim-1", "victim-2", "message:" + unsigned, "message:" + signedAsAttacker} {
				Expect(recordOf(Default, victim, key)).To(BeNil(), "a refusal landed in the claimed customer's partition under %s", key)
			}
			r := recordOf(Default, bridge.UnverifiedCustomer, "message:"+unsigned)
			Expect(r).NotTo(BeNil())
			Expect(r.Reason).To(Equal(bridge.RejectBadSignature))
		})

		It("takes a customer queue as its customer's identity: no signature needed, and a claim of another customer refused into the sender's partition", func() {
			ownNS := onboard("bound-a", "bound", 5, false)
			otherNS := onboard("bound-b", "bound", 5, false)
			By("a bound queue's own, unsigned messages run")
			sendTo(boundQueues["bound-a"], popAgenda("bound-a", "mine"), nil)
			sendTo(boundQueues["bound-b"], popAgenda("bound-b", "theirs"), nil)
			for ns, name := range map[string]string{ownNS: bridge.AgendaName("bound-a", "mine"), otherNS: bridge.AgendaName("bound-b", "theirs")} {
				Eventually(func(g Gomega) {
					var ag popv1.Agenda
					g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &ag)).To(Succeed())
					g.Expect(ag.Status.Phase).To(Equal(popv1.PhaseSucceeded))
				}, framework.Timeout, framework.Interval).Should(Succeed())
			}

			By("bound-a's queue claiming bound-b is refused")
			claim := popAgenda("bound-b", "theirs")
			msg := sendTo(boundQueues["bound-a"], claim, nil)
			reason, detail := deadLetterOf(msg)
			Expect(reason).To(Equal(bridge.RejectCustomerMismatch))
			Expect(detail).To(ContainSubstring("bound-a"))
			Expect(agendasIn(Default, otherNS)).To(HaveLen(1))
			Expect(agendasIn(Default, ownNS)).To(HaveLen(1))
			Eventually(func(g Gomega) { // written after the dead letter is sent
				r := recordOf(g, "bound-a", "theirs")
				g.Expect(r).NotTo(BeNil(), "the refusal is in the sender's partition")
				g.Expect(r.Reason).To(Equal(bridge.RejectCustomerMismatch))
			}, framework.Timeout, framework.Interval).Should(Succeed())
			Eventually(func(g Gomega) { // the mirror writes the end a moment after the Agenda's
				r := recordOf(g, "bound-b", "theirs")
				g.Expect(r.State).To(Equal(string(popv1.PhaseSucceeded)), "the claimed customer's record is untouched")
				g.Expect(r.Reason).To(BeEmpty(), "the refusal is not in the claimed customer's record")
			}, framework.Timeout, framework.Interval).Should(Succeed())

			By("a bound customer without a Secret cannot use the shared queue")
			shared := sendRaw(popAgenda("bound-a", "shared"), nil)
			reason, _ = deadLetterOf(shared)
			Expect(reason).To(Equal(bridge.RejectBadSignature))
			for _, url := range boundQueues {
				Eventually(func(g Gomega) int { return queueDepth(g, url) }, framework.Timeout).Should(BeZero())
			}
		})
	})

	It("holds messages in SQS while the pending bound is reached, and resumes below it", func() {
		// The suite's bounds: 5 in all, 3 per customer. Two paused customers fill the first.
		idA, nsA := customer("flow", 10)
		idB, nsB := customer("flow", 10)
		setPaused(nsA, true)
		setPaused(nsB, true)
		const each = 4
		for i := range each {
			send(popAgenda(idA, "flow-"+string(rune('a'+i))))
			send(popAgenda(idB, "flow-"+string(rune('a'+i))))
		}
		held := func(g Gomega) {
			a, b := len(agendasIn(g, nsA)), len(agendasIn(g, nsB))
			g.Expect(a + b).To(Equal(baseConfig.MaxPending))
			g.Expect(max(a, b)).To(BeNumerically("<=", baseConfig.MaxPendingPerCustomer))
			// The handled messages are deleted once their records are written.
			g.Expect(queueDepth(g, queues.IntakeQueueURL)).To(Equal(2*each - baseConfig.MaxPending))
		}
		Eventually(held, framework.Timeout, framework.Interval).Should(Succeed())
		Consistently(held, 2*time.Second, 100*time.Millisecond).Should(Succeed())

		setPaused(nsA, false)
		setPaused(nsB, false)
		Eventually(func(g Gomega) {
			for _, ns := range []string{nsA, nsB} {
				list := agendasIn(g, ns)
				g.Expect(list).To(HaveLen(each))
				g.Expect(list).To(HaveEach(HaveField("Status.Phase", popv1.PhaseSucceeded)))
			}
		}, framework.Timeout, framework.Interval).Should(Succeed())
		Expect(queueDepth(Default, queues.IntakeQueueURL)).To(BeZero())
	})

	// Issue 11, item 14: one customer's stuck Agendas held the intake for everyone.
	It("keeps taking other customers' messages while one customer's Agendas are stuck at its own bound", func() {
		stuck, stuckNS := customer("stuck", 10)
		other, otherNS := customer("other", 10)
		setPaused(stuckNS, true)
		const sent = 6 // more than the suite's global bound of 5
		for i := range sent {
			send(popAgenda(stuck, fmt.Sprintf("stuck-%d", i)))
		}
		Eventually(func(g Gomega) int { return len(agendasIn(g, stuckNS)) }, framework.Timeout).Should(Equal(baseConfig.MaxPendingPerCustomer))
		send(popAgenda(other, "other-1"))
		send(popAgenda(other, "other-2"))
		Eventually(func(g Gomega) {
			list := agendasIn(g, otherNS)
			g.Expect(list).To(HaveLen(2))
			g.Expect(list).To(HaveEach(HaveField("Status.Phase", popv1.PhaseSucceeded)))
		}, framework.Timeout, framework.Interval).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(agendasIn(g, stuckNS)).To(HaveLen(baseConfig.MaxPendingPerCustomer))
			// Held in SQS: a deferred message's copy is sent before the original is deleted.
			g.Expect(queueDepth(g, queues.IntakeQueueURL)).To(BeNumerically(">=", sent-baseConfig.MaxPendingPerCustomer))
		}, 3*time.Second, 100*time.Millisecond).Should(Succeed())

		setPaused(stuckNS, false)
		Eventually(func(g Gomega) {
			list := agendasIn(g, stuckNS)
			g.Expect(list).To(HaveLen(sent))
			g.Expect(list).To(HaveEach(HaveField("Status.Phase", popv1.PhaseSucceeded)))
		}, framework.Timeout, framework.Interval).Should(Succeed())
		Eventually(func(g Gomega) int { return queueDepth(g, queues.IntakeQueueURL) }, framework.Timeout).Should(BeZero())
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
