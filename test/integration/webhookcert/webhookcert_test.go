// Package webhookcert_test proves the self-managed webhook certificate: the manager creates
// a CA and serving certificate in a Secret, injects the CA into the
// ValidatingWebhookConfiguration, and the API server then calls the webhook over TLS.
package webhookcert_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/pop-operator/pop/internal/webhooks"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

func TestWebhookCert(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Self-managed webhook certificate suite")
}

const configName = "pop-validating-webhook-configuration"

var _ = Describe("Self-managed webhook certificate", func() {
	It("is created, injected, and lets the API server call the webhook over TLS", func() {
		ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
		env, err := framework.Start()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(env.Stop)
		// Cleanups run last-in first-out: the manager stops before the control plane.
		ctx, cancel := context.WithCancel(context.Background())
		DeferCleanup(cancel)
		Expect(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "pop-system"}})).To(Succeed())

		port := freePort()
		Expect(env.Client.Create(ctx, &admissionv1.ValidatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: configName},
			Webhooks: []admissionv1.ValidatingWebhook{{
				Name: "vagenda.pop.dev", AdmissionReviewVersions: []string{"v1"},
				SideEffects:   ptr.To(admissionv1.SideEffectClassNone),
				FailurePolicy: ptr.To(admissionv1.Fail),
				ClientConfig: admissionv1.WebhookClientConfig{
					URL: ptr.To(fmt.Sprintf("https://localhost:%d/validate-pop-dev-v1alpha1-agenda", port)),
				},
				Rules: []admissionv1.RuleWithOperations{{
					Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
					Rule:       admissionv1.Rule{APIGroups: []string{"pop.dev"}, APIVersions: []string{"v1alpha1"}, Resources: []string{"agendas"}},
				}},
			}},
		})).To(Succeed())

		certDir := GinkgoT().TempDir()
		mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
			Scheme:        framework.Scheme(),
			Metrics:       metricsserver.Options{BindAddress: "0"},
			WebhookServer: webhook.NewServer(webhook.Options{Host: "127.0.0.1", Port: port, CertDir: certDir}),
		})
		Expect(err).NotTo(HaveOccurred())
		served, err := webhooks.SetupWithCertificates(mgr, webhooks.CertOptions{
			SelfManaged: true, Namespace: "pop-system", SecretName: "pop-webhook-server-cert",
			ServiceName: "pop-webhook-service", DNSName: "localhost", ConfigurationName: configName, CertDir: certDir,
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(served(nil)).To(MatchError(ContainSubstring("not in place yet")), "ready before the certificate exists")
		go func() {
			defer GinkgoRecover()
			Expect(mgr.Start(ctx)).To(Succeed())
		}()
		go mountSecret(ctx, env.Client, certDir)

		By("the Secret holds a CA and a serving certificate, and the CA is injected")
		Eventually(func(g Gomega) {
			var s corev1.Secret
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: "pop-system", Name: "pop-webhook-server-cert"}, &s)).To(Succeed())
			g.Expect(s.Data).To(HaveKey("ca.crt"))
			g.Expect(s.Data).To(HaveKey("tls.crt"))
			var vwc admissionv1.ValidatingWebhookConfiguration
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Name: configName}, &vwc)).To(Succeed())
			g.Expect(vwc.Webhooks[0].ClientConfig.CABundle).To(Equal(s.Data["ca.crt"]))
		}, framework.Timeout, framework.Interval).Should(Succeed())

		ns, err := env.CreateNamespace(ctx, "cert", nil)
		Expect(err).NotTo(HaveOccurred())
		By("the readiness check passes once the webhook serves")
		Eventually(func() error { return served(nil) }, framework.Timeout, framework.Interval).Should(Succeed())
		By("a valid Agenda passes the webhook (failurePolicy Fail: a TLS error would refuse it)")
		Eventually(func() error {
			return env.Client.Create(ctx, builders.MakeAgenda("fine", ns).Op("a", "t").Obj())
		}, framework.Timeout, framework.Interval).Should(Succeed())
		By("an invalid one is denied with its field path")
		err = env.Client.Create(ctx, builders.MakeAgenda("bad", ns).Op("a", "t", "@<ghost.out>").Obj())
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want 422 from the webhook, got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.operations[0].payload"))
	})
})

// mountSecret does what the kubelet does for the Deployment's Secret volume: it writes the
// certificate Secret's entries as files into the webhook server's folder once they exist.
func mountSecret(ctx context.Context, c client.Client, dir string) {
	for ctx.Err() == nil {
		var s corev1.Secret
		if err := c.Get(ctx, client.ObjectKey{Namespace: "pop-system", Name: "pop-webhook-server-cert"}, &s); err == nil && len(s.Data["tls.key"]) > 0 {
			for name, data := range s.Data {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
					panic(err)
				}
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}
