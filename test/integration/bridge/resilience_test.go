package bridge_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/bridge"
	"github.com/pop-operator/pop/test/framework"
)

// emulators runs hack/aws-emulators.sh with one command.
func emulators(command string) {
	GinkgoHelper()
	out, err := exec.Command(filepath.Join(framework.RepoRoot(), "hack", "aws-emulators.sh"), command).CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(out))
}

var _ = Describe("Bridge resilience", func() {
	It("loses nothing while DynamoDB is away and the bridge restarts meanwhile", func() {
		id, ns := customer("outage", 5)
		By("stopping DynamoDB")
		emulators("stop-dynamodb")
		DeferCleanup(emulators, "start") // whatever happens, the next specs have DynamoDB

		send(popAgenda(id, "through-outage"))
		By("without DynamoDB the message stays in SQS")
		Consistently(func(g Gomega) int { return queueDepth(g, queues.IntakeQueueURL) }, 2*time.Second, 200*time.Millisecond).Should(Equal(1))

		By("restarting the bridge (and the controllers) before the message is handled")
		stopManager()
		stopManager = startManager(baseConfig)
		Consistently(func(g Gomega) int { return queueDepth(g, queues.IntakeQueueURL) }, 4*time.Second, 200*time.Millisecond).Should(Equal(1))

		By("bringing DynamoDB back: the message becomes one Agenda, the mirror catches up")
		emulators("start")
		Eventually(func(g Gomega) {
			g.Expect(queueDepth(g, queues.IntakeQueueURL)).To(BeZero())
			list := agendasIn(g, ns)
			g.Expect(list).To(HaveLen(1))
			g.Expect(list[0].Status.Phase).To(Equal(popv1.PhaseSucceeded))
			r := recordOf(g, id, "through-outage")
			g.Expect(r).NotTo(BeNil())
			g.Expect(r.State).To(Equal(string(popv1.PhaseSucceeded)))
		}, time.Minute, 200*time.Millisecond).Should(Succeed())
	})

	It("finds the Agenda a first delivery created when the bridge stopped before deleting its message", func() {
		id, ns := customer("redelivered", 5)
		body := popAgenda(id, "half-done")
		sub, rej := bridge.Parse([]byte(body), baseConfig.MaxMessageBytes)
		Expect(rej).NotTo(HaveOccurred())
		Expect(env.Client.Create(ctx, bridge.NewAgenda(sub, ns))).To(Succeed()) // what the first delivery did
		send(body)
		Eventually(func(g Gomega) {
			g.Expect(queueDepth(g, queues.IntakeQueueURL)).To(BeZero())
			g.Expect(recordOf(g, id, "half-done")).NotTo(BeNil())
		}, framework.Timeout, framework.Interval).Should(Succeed())
		Consistently(func(g Gomega) int { return len(agendasIn(g, ns)) }, time.Second).Should(Equal(1))
	})
})

// Issue 11, item 13: SQS's redrive (maxReceiveCount × visibility) moved valid messages to
// the dead-letter queue, without a reason, during an outage longer than that. Here a
// queue redrives after 3 receives with a 2 s visibility: 6 s.
var _ = Describe("Bridge during outages longer than receives × visibility", Ordered, func() {
	const receives, visibility = 3, 2 * time.Second
	var intake, dlq string

	BeforeAll(func() {
		name := fmt.Sprintf("%s-redrive", store.Table)
		p, err := bridge.Provision(ctx, aws, bridge.Resources{IntakeQueue: name, DeadLetterQueue: name + "-dlq", Table: store.Table, MaxReceiveCount: receives})
		Expect(err).NotTo(HaveOccurred())
		intake, dlq = p.IntakeQueueURL, p.DeadLetterQueueURL
		cfg := baseConfig
		cfg.IntakeQueues, cfg.CustomerQueues, cfg.DeadLetterQueue = []string{intake}, nil, dlq
		cfg.VisibilityTimeout = visibility
		stopManager()
		stopManager = startManager(cfg)
		DeferCleanup(func() {
			stopManager()
			stopManager = startManager(baseConfig)
		})
	})

	// The outage is longer than receives × (visibility + handling): a failing handling
	// takes several seconds (the SDK's own retries) before the message can come back.
	It("keeps a valid message out of the dead-letter queue through a 45 s DynamoDB outage", func() {
		id, ns := customer("long-outage", 5)
		emulators("stop-dynamodb")
		DeferCleanup(emulators, "start")
		body := popAgenda(id, "patient")
		msg := sendTo(intake, body, signedBy(body))
		Consistently(func(g Gomega) {
			g.Expect(queueDepth(g, dlq)).To(BeZero(), "the message went to the dead-letter queue during the outage")
			g.Expect(queueDepth(g, intake)).To(Equal(1))
		}, 45*time.Second, 200*time.Millisecond).Should(Succeed())

		emulators("start")
		Eventually(func(g Gomega) {
			g.Expect(queueDepth(g, intake)).To(BeZero())
			list := agendasIn(g, ns)
			g.Expect(list).To(HaveLen(1))
			g.Expect(list[0].Status.Phase).To(Equal(popv1.PhaseSucceeded))
			g.Expect(recordOf(g, id, "patient").State).To(Equal(string(popv1.PhaseSucceeded)))
		}, time.Minute, 200*time.Millisecond).Should(Succeed())
		Consistently(func(g Gomega) int { return queueDepth(g, dlq) }, visibility).Should(BeZero(), "message %s", msg)
	})

	It("dead-letters a message with a reason, never silently, when the API server refuses it on every receive while it answers reads", func() {
		id, ns := customer("webhook-down", 5)
		By("installing an admission webhook for the namespace's Agendas that nobody serves")
		hook := &admissionv1.ValidatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: "down-" + ns},
			Webhooks: []admissionv1.ValidatingWebhook{{
				Name:                    "down.pop.dev",
				ClientConfig:            admissionv1.WebhookClientConfig{URL: ptr.To("https://127.0.0.1:1/validate")},
				Rules:                   []admissionv1.RuleWithOperations{{Operations: []admissionv1.OperationType{admissionv1.Create}, Rule: admissionv1.Rule{APIGroups: []string{popv1.GroupVersion.Group}, APIVersions: []string{"*"}, Resources: []string{"agendas"}}}},
				NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}},
				FailurePolicy:           ptr.To(admissionv1.Fail),
				SideEffects:             ptr.To(admissionv1.SideEffectClassNone),
				AdmissionReviewVersions: []string{"v1"},
				TimeoutSeconds:          ptr.To[int32](1),
			}},
		}
		Expect(env.Client.Create(ctx, hook)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(env.Client.Delete(ctx, hook))).To(Succeed()) })

		body := popAgenda(id, "refused")
		msg := sendTo(intake, body, signedBy(body))
		reason, detail := deadLetterIn(dlq, msg, time.Minute)
		Expect(reason).To(Equal(bridge.RejectRetriesExhausted), "the message reached the dead-letter queue without the bridge's reason")
		Expect(detail).To(ContainSubstring("webhook"))
		Expect(agendasIn(Default, ns)).To(BeEmpty())
		Eventually(func(g Gomega) { // written after the dead letter is sent
			r := recordOf(g, id, "refused")
			g.Expect(r).NotTo(BeNil())
			g.Expect(r.Reason).To(Equal(bridge.RejectRetriesExhausted))
		}, framework.Timeout, framework.Interval).Should(Succeed())
		Eventually(func(g Gomega) int { return queueDepth(g, intake) }, framework.Timeout).Should(BeZero())
	})
})
