package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

const (
	operatorNamespace = "pop-system"
	// installTimeout bounds an install until its manager is Available: the kubelet mounts
	// the certificate Secret the manager just filled on its next sync, up to a minute or two.
	installTimeout = 5 * time.Minute
)

// run runs a command line tool and returns its combined output, failing the spec on error.
func run(name string, args ...string) string {
	GinkgoHelper()
	cmd := exec.Command(name, args...)
	cmd.Dir = framework.RepoRoot()
	out, err := cmd.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "%s %s:\n%s", filepath.Base(name), strings.Join(args, " "), out)
	return string(out)
}

func helm(args ...string) {
	GinkgoHelper()
	bin := strings.TrimSpace(run(filepath.Join(framework.RepoRoot(), "hack", "helm.sh")))
	run(bin, append(args, "--kubeconfig", kubeconfigPath)...)
}

func kubectlRun(args ...string) string {
	GinkgoHelper()
	return run(kubectl, append([]string{"--kubeconfig", kubeconfigPath}, args...)...)
}

// helmInstall installs charts/pop as the README tells users, with the chart's defaults
// (webhook with a self-managed certificate, leader election), and waits until the manager
// is Available and its webhook answers the API server.
func helmInstall(values ...string) {
	GinkgoHelper()
	By("helm install pop charts/pop " + strings.Join(values, " "))
	args := append([]string{"upgrade", "--install", "pop", "charts/pop", "--namespace", operatorNamespace,
		"--create-namespace", "--wait", "--timeout", installTimeout.String()}, values...)
	helm(args...)
	waitForManager()
}

// waitForManager waits for the manager Deployment to be Available and for the webhook to
// admit an Agenda (a server-side dry run goes through it), with the manager's log when it
// does not.
func waitForManager() {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		var dep appsv1.Deployment
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "pop-manager"}, &dep)).To(Succeed())
		g.Expect(dep.Status.AvailableReplicas).To(BeNumerically(">=", 1))
	}, installTimeout, time.Second).Should(Succeed(), managerLog)
	probe := builders.MakeAgenda("webhook-probe", operatorNamespace).Op("a", "echo").Obj()
	Eventually(func() error {
		return k8s.Create(ctx, probe.DeepCopy(), client.DryRunAll)
	}, installTimeout, time.Second).Should(Succeed(), managerLog)
}

// managerLog describes a failure with the manager's recent log.
func managerLog() string {
	out, _ := exec.Command(kubectl, "--kubeconfig", kubeconfigPath, "logs", "-n", operatorNamespace,
		"deploy/pop-manager", "--tail=80").CombinedOutput()
	return "manager log:\n" + string(out)
}

// applySamples applies the README's sample HandlerTypes, Insights and Agenda with kubectl
// into a new customer namespace, and deletes the Insights afterwards (they select every
// namespace).
func applySamples(prefix string) string {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-", Labels: map[string]string{
		popv1.CustomerLabel: prefix, "pod-security.kubernetes.io/enforce": "restricted"}}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	DeferCleanup(func() {
		Expect(k8s.DeleteAllOf(ctx, &popv1.Insight{}, client.InNamespace(ns.Name))).To(Succeed())
	})
	kubectlRun("apply", "-n", ns.Name, "-f", "config/samples/handlertypes.yaml", "-f", "config/samples/insights.yaml",
		"-f", "config/samples/agenda.yaml")
	return ns.Name
}

// checkSampleSucceeded waits for the sample Agenda and checks what its operations computed.
func checkSampleSucceeded(ns string) {
	GinkgoHelper()
	done := waitForPhase(&popv1.Agenda{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "publish-trailer"}},
		popv1.PhaseSucceeded, popv1.PhaseFailed)
	Expect(done.Status.Phase).To(Equal(popv1.PhaseSucceeded), "operations: %+v", done.Status.Operations)
	asset := "s3://media/trailers/big-buck-bunny.mp4"
	sum := sha256.Sum256([]byte(asset))
	Expect(opStatus(done, "checksum").Output).To(ContainSubstring(`"sha256":"` + hex.EncodeToString(sum[:]) + `"`))
	Expect(opStatus(done, "publish").Output).To(ContainSubstring(`"agenda":"publish-trailer"`))
	Expect(opStatus(done, "thumbnail").Output).To(ContainSubstring(`"atSeconds":596.5`))
}

// These specs change the installation itself; they end with the Helm install the rest of
// the suite expects, whatever order Ginkgo runs the containers in.
var _ = Describe("Installing POP", Ordered, func() {
	AfterAll(func() {
		removeKustomizeInstall()
		helmInstall()
	})

	It("runs the samples applied with kubectl on the Helm-installed manager", func() {
		checkSampleSucceeded(applySamples("samples"))
	})

	It("refuses a cyclic Agenda in the API server's answer, naming the field path", func() {
		ns := newNamespace("cycle", 5)
		file := filepath.Join(GinkgoT().TempDir(), "cycle.yaml")
		Expect(os.WriteFile(file, []byte(`apiVersion: pop.dev/v1alpha1
kind: Agenda
metadata: {name: loop}
spec:
  operations:
    - {name: a, type: echo, dependsOn: [b]}
    - {name: b, type: echo, dependsOn: [a]}
`), 0o600)).To(Succeed())
		out, err := exec.Command(kubectl, "--kubeconfig", kubeconfigPath, "apply", "-n", ns, "-f", file).CombinedOutput()
		Expect(err).To(HaveOccurred(), "kubectl accepted a cycle:\n%s", out)
		// Only the webhook sees cycles (the CRD's schema and CEL rules see one operation at a
		// time); it answers 422 with field errors, which kubectl prints as the API server's own.
		Expect(string(out)).To(ContainSubstring(`The Agenda "loop" is invalid: spec.operations[0]: Invalid value: "a": dependency cycle: a -> b -> a`))
		Expect(apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "loop"}, &popv1.Agenda{}))).To(BeTrue())
	})

	It("keeps a running Agenda through helm upgrade to replicas=2, one Pod per attempt", func() {
		ns := newNamespace("upgrade", 5)
		ag := builders.MakeAgenda("through-upgrade", ns).
			Op("first", "sample", sleepFor(15_000)).
			Op("second", "echo", "@<first.out>").Obj()
		seen := recordPods(ns)
		Expect(k8s.Create(ctx, ag)).To(Succeed())
		waitForPhase(ag, popv1.PhaseRunning)
		helmInstall("--set", "replicas=2")
		Eventually(func(g Gomega) {
			var dep appsv1.Deployment
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "pop-manager"}, &dep)).To(Succeed())
			g.Expect(dep.Status.AvailableReplicas).To(Equal(int32(2)))
		}, installTimeout, time.Second).Should(Succeed())
		done := waitForPhase(ag, popv1.PhaseSucceeded, popv1.PhaseFailed)
		Expect(done.Status.Phase).To(Equal(popv1.PhaseSucceeded), "operations: %+v", done.Status.Operations)
		perOperation := seen()
		for _, op := range done.Status.Operations {
			Expect(perOperation[op.Name]).To(HaveLen(int(op.Attempts)), "operation %s: Pods %v for %d attempts", op.Name, perOperation[op.Name], op.Attempts)
		}
	})

	It("helm uninstall removes the manager and the webhook configuration; Agendas stay", func() {
		ns := newNamespace("uninstall", 5)
		ag := builders.MakeAgenda("survivor", ns).Op("a", "echo", "still here").Obj()
		Expect(k8s.Create(ctx, ag)).To(Succeed())
		waitForPhase(ag, popv1.PhaseSucceeded)
		helm("uninstall", "pop", "--namespace", operatorNamespace, "--wait")
		Eventually(func(g Gomega) {
			err := k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "pop-manager"}, &appsv1.Deployment{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "manager Deployment: %v", err)
			err = k8s.Get(ctx, client.ObjectKey{Name: "pop-validating-webhook-configuration"}, &admissionv1.ValidatingWebhookConfiguration{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "webhook configuration: %v", err)
		}, timeout, interval).Should(Succeed())
		Expect(kubectlRun("get", "crd", "agendas.pop.dev", "insights.pop.dev", "handlertypes.pop.dev", "-o", "name")).
			To(Equal("customresourcedefinition.apiextensions.k8s.io/agendas.pop.dev\ncustomresourcedefinition.apiextensions.k8s.io/insights.pop.dev\n" +
				"customresourcedefinition.apiextensions.k8s.io/handlertypes.pop.dev\n"))
		var kept popv1.Agenda
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(ag), &kept)).To(Succeed())
		Expect(kept.Status.Phase).To(Equal(popv1.PhaseSucceeded))
	})

	It("runs the samples after kubectl apply -k config/default", func() {
		kubectlRun("apply", "-k", "config/default")
		waitForManager()
		checkSampleSucceeded(applySamples("kustomize"))
	})
})

// recordPods watches the handler Pods of a namespace from now on and returns a function that
// gives the Pods seen so far, by operation: every Pod ever created, even one deleted at once.
func recordPods(ns string) func() map[string][]string {
	GinkgoHelper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfigPath)
	Expect(err).NotTo(HaveOccurred())
	cs, err := kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: popv1.AgendaLabel})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(w.Stop)
	var mu sync.Mutex
	seen := map[string]map[types.UID]string{}
	go func() {
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			mu.Lock()
			op := pod.Labels[popv1.OperationLabel]
			if seen[op] == nil {
				seen[op] = map[types.UID]string{}
			}
			seen[op][pod.UID] = pod.Name
			mu.Unlock()
		}
	}()
	return func() map[string][]string {
		mu.Lock()
		defer mu.Unlock()
		out := map[string][]string{}
		for op, pods := range seen {
			for _, name := range pods {
				out[op] = append(out[op], name)
			}
		}
		return out
	}
}

// removeKustomizeInstall removes what config/default installed, if it is there (not managed
// by Helm), except the CRDs (with every Agenda) and the namespace, so that Helm can install
// again.
func removeKustomizeInstall() {
	GinkgoHelper()
	var dep appsv1.Deployment
	err := k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "pop-manager"}, &dep)
	if apierrors.IsNotFound(err) || dep.Labels["app.kubernetes.io/managed-by"] == "Helm" {
		return
	}
	Expect(err).NotTo(HaveOccurred())
	rendered := kubectlRun("kustomize", "config/default")
	var keep []string
	for _, doc := range strings.Split(rendered, "\n---\n") {
		if strings.Contains(doc, "kind: CustomResourceDefinition") || strings.Contains(doc, "\nkind: Namespace") ||
			strings.HasPrefix(doc, "kind: Namespace") {
			continue
		}
		keep = append(keep, doc)
	}
	dir, err := os.MkdirTemp("", "pop-e2e-")
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = os.RemoveAll(dir) }()
	file := filepath.Join(dir, "kustomize-without-crds.yaml")
	Expect(os.WriteFile(file, []byte(strings.Join(keep, "\n---\n")), 0o600)).To(Succeed())
	kubectlRun("delete", "-f", file, "--wait")
	Eventually(func() bool {
		err := k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "pop-manager"}, &appsv1.Deployment{})
		return apierrors.IsNotFound(err)
	}, timeout, interval).Should(BeTrue(), "the Kustomize manager is still there")
}
