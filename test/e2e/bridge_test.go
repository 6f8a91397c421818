package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/bridge"
	"github.com/pop-operator/pop/test/framework"
)

// hostFromPods is the host's address on the local cluster's bridge: Pods reach the
// emulators (which listen on every interface) there.
const hostFromPods = "10.244.0.1"

var _ = Describe("The AWS bridge as its own Deployment", func() {
	It("takes an Agenda from SQS and mirrors it to DynamoDB, from a Pod with its own ServiceAccount", func() {
		root := framework.RepoRoot()
		script := filepath.Join(root, "hack", "aws-emulators.sh")
		out, err := exec.Command(script, "start").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		DeferCleanup(func() { _ = exec.Command(script, "stop").Run() })
		for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"} {
			Expect(os.Setenv(k, v)).To(Succeed())
		}
		cfg := bridge.DefaultConfig()
		cfg.SQSEndpoint, cfg.DynamoDBEndpoint = "http://127.0.0.1:4568", "http://127.0.0.1:8765"
		clients, err := bridge.NewClients(ctx, cfg)
		Expect(err).NotTo(HaveOccurred())
		name := fmt.Sprintf("e2e-%d", time.Now().UnixNano())
		queues, err := bridge.Provision(ctx, clients, bridge.Resources{IntakeQueue: name, DeadLetterQueue: name + "-dlq", Table: name})
		Expect(err).NotTo(HaveOccurred())
		store := &bridge.Store{DB: clients.DynamoDB, Table: name}

		// A customer id no earlier run used: the bridge needs exactly one namespace per customer.
		customer := fmt.Sprintf("bridged%d", time.Now().Unix()%100000)

		By("deploying config/bridge, pointed at the emulators, with a queue bound to the customer")
		kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
		rendered, err := exec.Command(kubectl, "kustomize", filepath.Join(root, "config", "bridge")).Output()
		Expect(err).NotTo(HaveOccurred())
		// Queue URLs stay as fauxqs issued them (it finds queues by them); requests go to the
		// endpoint override, which is where the Pod's address for the host matters.
		manifest := strings.NewReplacer(
			"https://sqs.us-east-1.amazonaws.com/123456789012/pop-intake-dead-letters", queues.DeadLetterQueueURL,
			// A queue bound to the customer: its messages act for that customer unsigned
			// (a shared queue takes only signed ones).
			"--bridge-intake-queues=https://sqs.us-east-1.amazonaws.com/123456789012/pop-intake", "--bridge-customer-queues="+customer+"="+queues.IntakeQueueURL,
			"--bridge-table=pop-agendas", "--bridge-table="+name+"\n        - --bridge-sqs-endpoint=http://"+hostFromPods+
				":4568\n        - --bridge-dynamodb-endpoint=http://"+hostFromPods+":8765\n        - --bridge-wait-time=1s",
			// The Pod reaches the API server through the kubernetes Service as any Pod does
			// (up.sh routes it); only the emulators' credentials are added.
			"        env:\n", "        env:\n        - name: AWS_ACCESS_KEY_ID\n          value: test\n        - name: AWS_SECRET_ACCESS_KEY\n          value: test\n",
		).Replace(string(rendered))
		Expect(manifest).To(ContainSubstring("--bridge-sqs-endpoint"), "the rendered Deployment changed shape:\n%s", rendered)
		Expect(manifest).To(ContainSubstring("--bridge-customer-queues"), "the rendered Deployment changed shape:\n%s", rendered)
		manifestFile := filepath.Join(GinkgoT().TempDir(), "bridge.yaml")
		Expect(os.WriteFile(manifestFile, []byte(manifest), 0o600)).To(Succeed())
		apply := func(verb string) {
			out, err := exec.Command(kubectl, "--kubeconfig", kubeconfigPath, verb, "-f", manifestFile).CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), string(out))
		}
		apply("apply")
		DeferCleanup(apply, "delete")
		DeferCleanup(func() { // runs before the delete: the bridge's log, when something failed
			if CurrentSpecReport().Failed() {
				out, _ := exec.Command(kubectl, "--kubeconfig", kubeconfigPath, "logs", "-n", "pop-system", "deploy/pop-bridge", "--tail=60").CombinedOutput()
				AddReportEntry("bridge log", string(out))
			}
		})
		Eventually(func(g Gomega) {
			var dep appsv1.Deployment
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: "pop-system", Name: "pop-bridge"}, &dep)).To(Succeed())
			g.Expect(dep.Status.AvailableReplicas).To(Equal(int32(1)))
		}, timeout, interval).Should(Succeed())

		By("sending a POP Agenda for the customer")
		ns := newNamespace(customer, 5)
		body := fmt.Sprintf(`{"customerId": %q, "agendaId": "from-sqs", "operations": [{"name": "greet", "type": "echo", "payload": {"hello": "sqs"}}]}`, customer)
		_, err = clients.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: awssdk.String(queues.IntakeQueueURL), MessageBody: awssdk.String(body)})
		Expect(err).NotTo(HaveOccurred())

		Eventually(func(g Gomega) {
			var ag popv1.Agenda
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: bridge.AgendaName(customer, "from-sqs")}, &ag)).To(Succeed())
			g.Expect(ag.Status.Phase).To(Equal(popv1.PhaseSucceeded))
			r, err := store.Get(ctx, customer, "from-sqs")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(r).NotTo(BeNil())
			g.Expect(r.State).To(Equal(string(popv1.PhaseSucceeded)))
		}, timeout, interval).Should(Succeed())
	})
})
