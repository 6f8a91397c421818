package webhook_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/pop-operator/pop/internal/webhooks"
	"github.com/pop-operator/pop/test/framework"
)

// The objects of a shipped install (config/default; test/install proves the Helm chart
// renders the same) whose names the manager's RBAC grants.
const (
	systemNamespace = "pop-system"
	certSecret      = "pop-webhook-server-cert"
	webhookConfig   = "pop-validating-webhook-configuration"
	managerUser     = "system:serviceaccount:pop-system:pop-manager"
)

// applyShippedRBAC creates the ServiceAccount, Roles, ClusterRoles and their bindings that
// `kubectl kustomize config/default` renders.
func applyShippedRBAC() {
	GinkgoHelper()
	kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	cmd := exec.Command(kubectl, "kustomize", filepath.Join(framework.RepoRoot(), "config", "default"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	Expect(err).NotTo(HaveOccurred(), stderr.String())
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			return
		} else {
			Expect(err).NotTo(HaveOccurred())
		}
		switch u.GetKind() {
		case "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding":
			Expect(client.IgnoreAlreadyExists(env.Client.Create(ctx, u))).To(Succeed(), "%s %s", u.GetKind(), u.GetName())
		}
	}
}

// asManager is a config that acts as the shipped manager's ServiceAccount.
func asManager() *rest.Config {
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: managerUser,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + systemNamespace, "system:authenticated"}}
	return cfg
}

// aWebhookConfiguration is a configuration that calls nothing anyone uses.
func aWebhookConfiguration(name string) *admissionv1.ValidatingWebhookConfiguration {
	return &admissionv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionv1.ValidatingWebhook{{
			Name: "unused.pop.dev", AdmissionReviewVersions: []string{"v1"},
			SideEffects: ptr.To(admissionv1.SideEffectClassNone), FailurePolicy: ptr.To(admissionv1.Ignore),
			ClientConfig: admissionv1.WebhookClientConfig{URL: ptr.To("https://localhost:1/unused")},
			Rules: []admissionv1.RuleWithOperations{{
				Operations: []admissionv1.OperationType{admissionv1.Delete},
				Rule:       admissionv1.Rule{APIGroups: []string{"pop.dev"}, APIVersions: []string{"v1alpha1"}, Resources: []string{"handlertypes"}},
			}},
		}},
	}
}

func expectForbidden(err error, what string) {
	GinkgoHelper()
	Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%s: want 403 Forbidden, got %v", what, err)
}

var _ = Describe("The manager's rights on Secrets and webhook configurations", func() {
	It("suffice for the self-managed certificate, and reach no other Secret or configuration", func() {
		Expect(client.IgnoreAlreadyExists(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: systemNamespace}}))).To(Succeed())
		applyShippedRBAC()
		Expect(env.Client.Create(ctx, aWebhookConfiguration(webhookConfig))).To(Succeed())
		Expect(env.Client.Create(ctx, aWebhookConfiguration("someone-elses"))).To(Succeed())
		Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "aws-credentials", Namespace: systemNamespace},
			StringData: map[string]string{"key": "secret"}})).To(Succeed())

		By("running the certificate rotator as the manager's ServiceAccount")
		certDir := GinkgoT().TempDir()
		mgr, err := ctrl.NewManager(asManager(), ctrl.Options{
			Scheme:        framework.Scheme(),
			Metrics:       metricsserver.Options{BindAddress: "0"},
			WebhookServer: webhook.NewServer(webhook.Options{Host: "127.0.0.1", Port: freePort(), CertDir: certDir}),
		})
		Expect(err).NotTo(HaveOccurred())
		_, err = webhooks.SetupWithCertificates(mgr, webhooks.CertOptions{SelfManaged: true, Namespace: systemNamespace,
			SecretName: certSecret, ServiceName: "pop-webhook-service", DNSName: "localhost", ConfigurationName: webhookConfig, CertDir: certDir})
		Expect(err).NotTo(HaveOccurred())
		mctx, stop := context.WithCancel(ctx)
		DeferCleanup(stop)
		go func() {
			defer GinkgoRecover()
			Expect(mgr.Start(mctx)).To(Succeed())
		}()
		Eventually(func(g Gomega) {
			var s corev1.Secret
			g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: systemNamespace, Name: certSecret}, &s)).To(Succeed())
			g.Expect(s.Data).To(HaveKey("tls.crt"))
			var vwc admissionv1.ValidatingWebhookConfiguration
			g.Expect(env.Client.Get(ctx, types.NamespacedName{Name: webhookConfig}, &vwc)).To(Succeed())
			g.Expect(vwc.Webhooks[0].ClientConfig.CABundle).To(Equal(s.Data["ca.crt"]))
		}, framework.Timeout, framework.Interval).Should(Succeed(), "the rotator did not fill the Secret and inject the CA")

		By("refusing the manager every other Secret and configuration")
		c, err := client.New(asManager(), client.Options{Scheme: framework.Scheme()})
		Expect(err).NotTo(HaveOccurred())
		expectForbidden(c.Get(ctx, types.NamespacedName{Namespace: systemNamespace, Name: "aws-credentials"}, &corev1.Secret{}), "get another Secret")
		expectForbidden(c.List(ctx, &corev1.SecretList{}, client.InNamespace(systemNamespace)), "list the namespace's Secrets")
		other := &admissionv1.ValidatingWebhookConfiguration{}
		expectForbidden(c.Get(ctx, types.NamespacedName{Name: "someone-elses"}, other), "get another webhook configuration")
		patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"touched":"yes"}}}`))
		expectForbidden(c.Patch(ctx, aWebhookConfiguration("someone-elses"), patch), "patch another webhook configuration")
		Expect(c.Get(ctx, types.NamespacedName{Namespace: systemNamespace, Name: certSecret}, &corev1.Secret{})).To(Succeed())
	})
})

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}
