package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"

	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
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

// The rotator reads and updates one ValidatingWebhookConfiguration, the one the Helm chart
// and the Kustomize base install (renamed with --webhook-configuration, the RBAC must follow).
// Its list and watch select that name (scopedManager), which is what lets RBAC grant them by
// resourceNames: the manager can read or change no other webhook configuration.
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingwebhookconfigurations,resourceNames=pop-validating-webhook-configuration,verbs=get;list;watch;update

// SetupWithCertificates registers the Agenda webhook once its certificate is in place: after
// the rotator has written and injected it (self-managed), or once the mounted files appear
// (external, e.g. cert-manager). The webhook server is created (and started) only then, so it
// never serves without a certificate and the manager does not exit while a Secret is still
// being filled. The returned checker fails until the webhook serves: as a readiness check it
// keeps the Pod out of the webhook Service's endpoints until the API server can call it.
func SetupWithCertificates(mgr ctrl.Manager, o CertOptions) (healthz.Checker, error) {
	served := &webhookReadiness{operatorNamespace: o.Namespace}
	if !o.SelfManaged {
		certFile := filepath.Join(o.CertDir, "tls.crt")
		err := mgr.Add(everyReplica(func(ctx context.Context) error {
			if waitForFile(ctx, certFile, mgr.GetLogger()) {
				served.register(mgr)
			}
			return nil
		}))
		return served.check(mgr), err
	}
	if err := ensureSecret(mgr, o.Namespace, o.SecretName); err != nil {
		return nil, err
	}
	ready := make(chan struct{})
	dns := o.DNSName
	if dns == "" {
		dns = fmt.Sprintf("%s.%s.svc", o.ServiceName, o.Namespace)
	}
	err := rotator.AddRotator(scoped(mgr, o), &rotator.CertRotator{
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
		return nil, fmt.Errorf("adding the certificate rotator: %w", err)
	}
	go func() {
		<-ready
		served.register(mgr)
	}()
	return served.check(mgr), nil
}

// scopedManager is the manager as the certificate rotator sees it: its own cache (which
// the rotator builds from GetConfig) lists and watches only the one Secret and the one
// webhook configuration the rotator manages. Everything else — the client it writes with,
// the runnables it adds — is the manager's.
type scopedManager struct {
	manager.Manager
	cfg *rest.Config
}

func (m scopedManager) GetConfig() *rest.Config { return m.cfg }

// scoped adds fieldSelector=metadata.name=<name> to the collection reads the rotator's
// cache makes: a list or watch of a whole collection needs rights on every object in it,
// one that selects a name is authorized by RBAC's resourceNames. So the manager's Role grants
// get, list and watch on the certificate Secret alone, not on every Secret of its namespace.
func scoped(mgr manager.Manager, o CertOptions) manager.Manager {
	cfg := rest.CopyConfig(mgr.GetConfig())
	names := map[string]string{
		"/api/v1/namespaces/" + o.Namespace + "/secrets":                        o.SecretName,
		"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations": o.ConfigurationName,
	}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return nameSelector{next: rt, names: names} })
	return scopedManager{Manager: mgr, cfg: cfg}
}

// nameSelector selects one name in every collection read (GET of a collection: a list or a
// watch) whose path it knows; requests for a named object are left alone.
type nameSelector struct {
	next  http.RoundTripper
	names map[string]string // collection path -> the one name to read
}

func (n nameSelector) RoundTrip(req *http.Request) (*http.Response, error) {
	name, ok := n.collection(req.URL.Path)
	if !ok || req.Method != http.MethodGet {
		return n.next.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	q := req.URL.Query()
	selector := "metadata.name=" + name
	if s := q.Get("fieldSelector"); s != "" {
		selector += "," + s
	}
	q.Set("fieldSelector", selector)
	req.URL.RawQuery = q.Encode()
	return n.next.RoundTrip(req)
}

// collection finds the name to select for a path, which may carry the API server's own
// prefix in front.
func (n nameSelector) collection(path string) (string, bool) {
	for suffix, name := range n.names {
		if strings.HasSuffix(path, suffix) {
			return name, true
		}
	}
	return "", false
}

// webhookReadiness records whether the Agenda webhook has been registered.
type webhookReadiness struct {
	registered atomic.Bool
	// operatorNamespace holds the cluster-wide default AgendaTemplates.
	operatorNamespace string
}

func (w *webhookReadiness) register(mgr ctrl.Manager) {
	if err := SetupAgendaWebhook(mgr, w.operatorNamespace); err != nil {
		mgr.GetLogger().Error(err, "Setting up the Agenda webhook failed")
		return
	}
	w.registered.Store(true)
}

// check must not touch mgr.GetWebhookServer() before registration: the first call adds the
// server to the manager, which starts it without a certificate.
func (w *webhookReadiness) check(mgr ctrl.Manager) healthz.Checker {
	return func(req *http.Request) error {
		if !w.registered.Load() {
			return errors.New("the webhook's serving certificate is not in place yet")
		}
		return mgr.GetWebhookServer().StartedChecker()(req)
	}
}

// waitForFile polls for a file that another party (cert-manager and the kubelet) writes; false
// when ctx ended first.
func waitForFile(ctx context.Context, path string, log logr.Logger) bool {
	for i := 0; ; i++ {
		if _, err := os.Stat(path); err == nil {
			return true
		}
		if i%30 == 0 {
			log.Info("Waiting for the webhook's serving certificate", "file", path)
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(2 * time.Second):
		}
	}
}

// everyReplica is a runnable that runs on every replica, leader or not: each one serves the
// webhook.
type everyReplica func(ctx context.Context) error

func (f everyReplica) Start(ctx context.Context) error { return f(ctx) }
func (everyReplica) NeedLeaderElection() bool          { return false }

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
