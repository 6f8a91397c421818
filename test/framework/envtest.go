// Package framework starts the control plane that integration tests run against and gives
// them helpers: a namespace per test, an uncached client, timeouts.
package framework

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// Timeouts for Eventually/Consistently in integration tests.
const (
	Timeout  = 20 * time.Second
	Interval = 50 * time.Millisecond
)

// RepoRoot is the repository's top folder, found from this file's location.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Scheme knows the built-in kinds and POP's.
func Scheme() *k8sruntime.Scheme {
	s := k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := popv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// Env is a running control plane with POP's CRDs installed.
type Env struct {
	Env    *envtest.Environment
	Config *rest.Config
	// Client reads straight from the API server (no cache), so assertions see the truth.
	Client client.Client
}

// Start runs kube-apiserver and etcd from KUBEBUILDER_ASSETS and installs the CRDs.
func Start() (*Env, error) { return start(false) }

// StartWithWebhooks also registers config/webhook with the API server, pointed at a local
// webhook server that the test's manager must serve (see WebhookServerOptions).
func StartWithWebhooks() (*Env, error) { return start(true) }

func start(webhooks bool) (*Env, error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return nil, fmt.Errorf("KUBEBUILDER_ASSETS is not set: run `make test`, or export KUBEBUILDER_ASSETS=$(hack/envtest-assets.sh)")
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	if webhooks {
		env.WebhookInstallOptions = envtest.WebhookInstallOptions{
			Paths: []string{filepath.Join(RepoRoot(), "config", "webhook")},
		}
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting envtest: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	return &Env{Env: env, Config: cfg, Client: c}, nil
}

// WebhookServerOptions are what a manager's webhook server needs to serve envtest.
func (e *Env) WebhookServerOptions() webhook.Options {
	o := e.Env.WebhookInstallOptions
	return webhook.Options{Host: o.LocalServingHost, Port: o.LocalServingPort, CertDir: o.LocalServingCertDir}
}

// Stop shuts the control plane down.
func (e *Env) Stop() error { return e.Env.Stop() }

// CreateNamespace makes a fresh namespace for one test, with optional labels.
func (e *Env) CreateNamespace(ctx context.Context, prefix string, labels map[string]string) (string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-", Labels: labels}}
	if err := e.Client.Create(ctx, ns); err != nil {
		return "", err
	}
	return ns.Name, nil
}

// WriteKubeconfig writes a kubeconfig of a new user in system:masters to path, for a manager
// binary run against this control plane.
func (e *Env) WriteKubeconfig(name, path string) error {
	user, err := e.Env.AddUser(envtest.User{Name: name, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("adding the user %s: %w", name, err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return err
	}
	return os.WriteFile(path, kc, 0o600)
}
