// Package e2e runs POP against a real single-node cluster (hack/local-cluster): real
// containers receive their payloads, write termination messages that later operations
// read, fail, time out and are cancelled. The suite starts the cluster (root needed) and
// installs POP into it as users do: the manager image that hack/images builds (imported by
// up.sh) and `helm install` of charts/pop, webhook on with its self-managed certificate and
// leader election; every spec then talks to that installed manager.
package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

const (
	timeout  = 3 * time.Minute
	interval = 250 * time.Millisecond
)

var (
	kubeconfigPath string
	k8s            client.Client
	ctx            = context.Background()
	kubectl        string
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "End-to-end suite (real Pods)")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter)))
	if os.Getenv("POP_E2E") == "0" {
		Skip("POP_E2E=0")
	}
	if os.Geteuid() != 0 {
		Skip("the local cluster needs root (containerd, kubelet); run as root or set POP_E2E=0")
	}
	root := framework.RepoRoot()
	out, err := exec.Command(filepath.Join(root, "hack/local-cluster/up.sh")).Output()
	Expect(err).NotTo(HaveOccurred(), "hack/local-cluster/up.sh failed")
	kubeconfig := strings.TrimSpace(string(out))
	kubeconfigPath = kubeconfig
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	Expect(err).NotTo(HaveOccurred())
	k8s, err = client.New(cfg, client.Options{Scheme: framework.Scheme()})
	Expect(err).NotTo(HaveOccurred())

	kubectl = filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	removeKustomizeInstall() // left by an earlier run that stopped half-way
	helmInstall()
})

// newNamespace makes a namespace enforcing the restricted Pod Security Standard, with the
// sample HandlerTypes and a FIFO Insight of the given capacity.
func newNamespace(prefix string, capacity int32) string {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-", Labels: map[string]string{
		popv1.CustomerLabel:                  prefix,
		"pod-security.kubernetes.io/enforce": "restricted",
	}}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	for _, name := range []string{"echo", "hash", "sample"} {
		ht := builders.MakeHandlerType(name, ns.Name, "pop-handlers/"+name+":dev").Obj()
		ht.Spec.ImagePullPolicy = corev1.PullNever
		Expect(k8s.Create(ctx, ht)).To(Succeed())
	}
	ins := builders.MakeInsight("local", ns.Name).Capacity(capacity).Obj()
	ins.Spec.NamespaceSelector = nil
	Expect(k8s.Create(ctx, ins)).To(Succeed())
	return ns.Name
}

func waitForPhase(ag *popv1.Agenda, phases ...popv1.AgendaPhase) *popv1.Agenda {
	GinkgoHelper()
	var cur popv1.Agenda
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(ag), &cur)).To(Succeed())
		g.Expect(phases).To(ContainElement(cur.Status.Phase), "operations: %+v", cur.Status.Operations)
	}, timeout, interval).Should(Succeed())
	return &cur
}

func opStatus(ag *popv1.Agenda, name string) popv1.OperationStatus {
	for _, o := range ag.Status.Operations {
		if o.Name == name {
			return o
		}
	}
	return popv1.OperationStatus{}
}
