package webhooks

import (
	"context"
	"fmt"

	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
)

// CertOptions say how the webhook server gets its serving certificate.
type CertOptions struct {
	// SelfManaged makes the manager keep a CA and serving certificate in a Secret of its
	// namespace, rotate them, and inject the CA into the ValidatingWebhookConfiguration.
	// Otherwise the certificate is mounted (cert-manager, or the user's own).
	SelfManaged bool
	// Namespace and SecretName locate the Secret (self-managed).
	Namespace, SecretName string
	// ServiceName is the webhook Service; the certificate is for <service>.<namespace>.svc.
	ServiceName string
	// DNSName overrides that name (tests serve on localhost).
	DNSName string
	// ConfigurationName is the ValidatingWebhookConfiguration to inject the CA into.
	ConfigurationName string
	// CertDir is where the webhook server reads tls.crt and tls.key.
	CertDir string
}

// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingwebhookconfigurations,verbs=get;list;watch;update;patch

// SetupWithCertificates registers the Agenda webhook once its certificate is in place. With a
// self-managed certificate that is after the rotator has written it: the webhook server is
// created (and started) only then, so it never serves without a certificate.
func SetupWithCertificates(mgr ctrl.Manager, o CertOptions) error {
	if !o.SelfManaged {
		return SetupAgendaWebhook(mgr)
	}
	if err := ensureSecret(mgr, o.Namespace, o.SecretName); err != nil {
		return err
	}
	ready := make(chan struct{})
	dns := o.DNSName
	if dns == "" {
		dns = fmt.Sprintf("%s.%s.svc", o.ServiceName, o.Namespace)
	}
	err := rotator.AddRotator(mgr, &rotator.CertRotator{
		SecretKey:      types.NamespacedName{Namespace: o.Namespace, Name: o.SecretName},
		CertDir:        o.CertDir,
		CAName:         "pop-ca",
		CAOrganization: "pop.dev",
		DNSName:        dns,
		IsReady:        ready,
		Webhooks:       []rotator.WebhookInfo{{Name: o.ConfigurationName, Type: rotator.Validating}},
		// Every replica serves the webhook, so every replica needs the certificate.
		RequireLeaderElection: false,
	})
	if err != nil {
		return fmt.Errorf("adding the certificate rotator: %w", err)
	}
	go func() {
		<-ready
		if err := SetupAgendaWebhook(mgr); err != nil {
			mgr.GetLogger().Error(err, "Setting up the Agenda webhook failed")
		}
	}()
	return nil
}

// ensureSecret creates the (empty) certificate Secret the rotator fills: the rotator only
// updates it, and an install should not have to ship an empty Secret.
func ensureSecret(mgr ctrl.Manager, namespace, name string) error {
	// The manager's client writes straight to the API server, before the manager starts too.
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name,
		Labels: map[string]string{"app.kubernetes.io/name": "pop", "app.kubernetes.io/component": "webhook-cert"}}}
	err := mgr.GetClient().Create(context.Background(), s)
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating Secret %s/%s for the webhook certificate: %w", namespace, name, err)
	}
	return nil
}
