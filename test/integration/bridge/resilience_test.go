package bridge_test

import (
	"os/exec"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
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
	It("loses nothing while DynamoDB is away and the bridge restarts between creating an Agenda and deleting its message", func() {
		id, ns := customer("outage", 5)
		By("stopping DynamoDB")
		emulators("stop-dynamodb")
		DeferCleanup(emulators, "start") // whatever happens, the next specs have DynamoDB

		send(popAgenda(id, "through-outage"))
		name := bridge.AgendaName(id, "through-outage")
		By("the Agenda exists, but without its record the message stays in SQS")
		Eventually(func(g Gomega) {
			var ag popv1.Agenda
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &ag)).To(Succeed())
		}, framework.Timeout, framework.Interval).Should(Succeed())
		Consistently(func(g Gomega) int { return queueDepth(g, queues.IntakeQueueURL) }, 2*time.Second, 200*time.Millisecond).Should(Equal(1))

		By("restarting the bridge (and the controllers) before the message is deleted")
		stopManager()
		stopManager = startManager(baseConfig)
		Consistently(func(g Gomega) int { return queueDepth(g, queues.IntakeQueueURL) }, 4*time.Second, 200*time.Millisecond).Should(Equal(1))

		By("bringing DynamoDB back: the redelivered message finds its Agenda, the mirror catches up")
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
})
