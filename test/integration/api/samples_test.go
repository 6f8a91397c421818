package api_test

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/pop-operator/pop/test/framework"
)

var _ = Describe("config/samples", func() {
	It("are all accepted by the API server", func() {
		ns, err := env.CreateNamespace(ctx, "samples", nil)
		Expect(err).NotTo(HaveOccurred())
		objs, err := framework.ReadManifests(filepath.Join(framework.RepoRoot(), "config", "samples"))
		Expect(err).NotTo(HaveOccurred())
		kinds := map[string]int{}
		for _, obj := range objs {
			obj.SetNamespace(ns)
			Expect(env.Client.Create(ctx, obj)).To(Succeed(), "creating %s %s", obj.GetKind(), obj.GetName())
			kinds[obj.GetKind()]++
		}
		Expect(kinds).To(HaveKeyWithValue("HandlerType", 2))
		Expect(kinds).To(HaveKeyWithValue("Insight", 3))
		Expect(kinds).To(HaveKeyWithValue("Agenda", 1))
		Expect(kinds).To(HaveKeyWithValue("AgendaTemplate", 1))
	})
})

// kubectl runs the kubectl binary from KUBEBUILDER_ASSETS against the test control plane.
func kubectl(args ...string) string {
	GinkgoHelper()
	out, err := tryKubectl(args...)
	Expect(err).NotTo(HaveOccurred())
	return out
}

// tryKubectl runs kubectl and returns its output, or an error carrying its stderr.
func tryKubectl(args ...string) (string, error) {
	admin, err := env.Env.ControlPlane.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", err
	}
	k, err := admin.Kubectl()
	if err != nil {
		return "", err
	}
	stdout, stderr, err := k.Run(args...)
	var out, errOut bytes.Buffer
	_, _ = io.Copy(&out, stdout)
	_, _ = io.Copy(&errOut, stderr)
	if err != nil {
		return "", fmt.Errorf("kubectl %v: %w: %s", args, err, errOut.String())
	}
	return out.String(), nil
}

var _ = Describe("kubectl", func() {
	It("explains the documented Agenda fields", func() {
		// The API server publishes a new CRD's OpenAPI a moment after the CRD is established.
		var out string
		Eventually(func() (err error) {
			out, err = tryKubectl("explain", "agenda.spec.operations")
			return err
		}, framework.Timeout, 200*time.Millisecond).Should(Succeed())
		for _, field := range []string{"name", "type", "payload", "params", "dependsOn", "retries", "timeout", "resources"} {
			Expect(out).To(ContainSubstring(field))
		}
		Expect(out).To(ContainSubstring("dependsOn names operations that must succeed before this one starts"))
	})

	It("applies the samples and shows the printer columns", func() {
		ns, err := env.CreateNamespace(ctx, "kubectl", nil)
		Expect(err).NotTo(HaveOccurred())
		kubectl("apply", "-n", ns, "-f", filepath.Join(framework.RepoRoot(), "config", "samples"))
		out := kubectl("get", "-n", ns, "agendas,insights,handlertypes")
		for _, col := range []string{"PHASE", "INSIGHT", "PROGRESS", "ALGORITHM", "CAPACITY", "PENDING", "ADMITTED", "IMAGE", "AGE"} {
			Expect(out).To(ContainSubstring(col))
		}
		Expect(out).To(ContainSubstring("publish-trailer"))
		Expect(out).To(ContainSubstring("pop-handlers/hash:dev"))
		Expect(kubectl("get", "-n", ns, "pop")).To(ContainSubstring("agenda.pop.dev/publish-trailer"))
		Expect(kubectl("get", "-n", ns, "ag,ins,ht", "-o", "name")).To(ContainSubstring("insight.pop.dev/urgent"))
	})
	It("applies the Kustomize base: namespace, RBAC and a restricted manager Deployment", func() {
		kubectl("apply", "--server-side", "-k", filepath.Join(framework.RepoRoot(), "config", "default"))
		// Nothing serves the webhook here: remove it so that later specs can create Agendas.
		DeferCleanup(func() { kubectl("delete", "validatingwebhookconfiguration", "pop-validating-webhook-configuration") })
		Expect(kubectl("get", "-n", "pop-system", "service/pop-webhook-service", "role/pop-webhook-cert-role", "-o", "name")).
			To(ContainSubstring("service/pop-webhook-service"))
		var dep appsv1.Deployment
		Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: "pop-system", Name: "pop-manager"}, &dep)).To(Succeed())
		pod := dep.Spec.Template.Spec
		Expect(pod.ServiceAccountName).To(Equal("pop-manager"))
		Expect(pod.SecurityContext.RunAsNonRoot).To(HaveValue(BeTrue()))
		c := pod.Containers[0]
		Expect(c.Args).To(ContainElements("--leader-elect", "--enable-webhooks", "--webhook-cert-mode=self-managed"))
		Expect(c.SecurityContext.AllowPrivilegeEscalation).To(HaveValue(BeFalse()))
		Expect(c.SecurityContext.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))
		Expect(c.LivenessProbe).NotTo(BeNil())
		Expect(c.ReadinessProbe).NotTo(BeNil())
		var binding rbacv1.ClusterRoleBinding
		Expect(env.Client.Get(ctx, client.ObjectKey{Name: "pop-manager-rolebinding"}, &binding)).To(Succeed())
		Expect(binding.RoleRef.Name).To(Equal("pop-manager-role"))
		Expect(binding.Subjects).To(ConsistOf(HaveField("Namespace", "pop-system")))
	})
})
