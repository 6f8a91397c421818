// Package chaos is POP's fault-injection run (`make chaos`, issue 15): envtest with the manager
// binary as real child processes, a kubelet stand-in, a mixed load of Agendas, and faults —
// SIGKILLed managers, killed leaders, a kube-apiserver restart on the same etcd, an unreachable
// webhook — judged by an auditor that reads only the API server's watch streams.
package chaos

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/pop-operator/pop/test/framework"
)

// OperatorNamespace holds the HandlerTypes, the Insights and the leader-election Lease.
const OperatorNamespace = "pop-system"

// Env is the control plane, the run's own client and what the managers need to join it.
type Env struct {
	Env    *envtest.Environment
	Config *rest.Config
	Client client.WithWatch
	// ManagerKubecfg is a kubeconfig of the user pop-manager (system:masters).
	ManagerKubecfg string
	// WebhookCertDir holds the serving certificate envtest issued for the webhook.
	WebhookCertDir string
	// Proxy stands between the API server and the managers' webhook servers.
	Proxy *Proxy

	apiLog *os.File
}

// StartEnv starts etcd and kube-apiserver with POP's CRDs and validating webhook. The webhook
// configuration points at a TCP proxy of this process, so that the run can cut the webhook
// off and route it to whichever manager replicas exist. The API server's certificates live in
// dir/apiserver, so that RestartAPIServer keeps them (envtest regenerates a random folder).
func StartEnv(dir string) (*Env, error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return nil, fmt.Errorf("KUBEBUILDER_ASSETS is not set: run `make chaos`, or export KUBEBUILDER_ASSETS=$(hack/envtest-assets.sh)")
	}
	proxy, err := NewProxy()
	if err != nil {
		return nil, err
	}
	e := &Env{Proxy: proxy}
	e.Env = &envtest.Environment{
		CRDDirectoryPaths:       []string{filepath.Join(framework.RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing:   true,
		ControlPlaneStopTimeout: APIServerStopTimeout,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			Paths:            []string{filepath.Join(framework.RepoRoot(), "config", "webhook")},
			LocalServingHost: "127.0.0.1",
			LocalServingPort: proxy.Port(),
		},
	}
	certs := filepath.Join(dir, "apiserver")
	if err := os.MkdirAll(certs, 0o700); err != nil {
		return nil, err
	}
	api := e.Env.ControlPlane.GetAPIServer()
	api.CertDir = certs
	api.StopTimeout = APIServerStopTimeout
	apiLog, err := os.Create(filepath.Join(dir, "kube-apiserver.log"))
	if err != nil {
		return nil, err
	}
	api.Out, api.Err = apiLog, apiLog
	e.apiLog = apiLog
	cfg, err := e.Env.Start()
	if err != nil {
		_ = e.Env.Stop()
		proxy.Close()
		return nil, fmt.Errorf("starting envtest: %w", err)
	}
	cfg.QPS, cfg.Burst = 1e4, 1e4
	e.Config = cfg
	e.WebhookCertDir = e.Env.WebhookInstallOptions.LocalServingCertDir
	if e.Client, err = client.NewWithWatch(cfg, client.Options{Scheme: framework.Scheme()}); err != nil {
		_ = e.Stop()
		return nil, err
	}
	user, err := e.Env.AddUser(envtest.User{Name: "pop-manager", Groups: []string{"system:masters"}}, nil)
	if err == nil {
		var kc []byte
		if kc, err = user.KubeConfig(); err == nil {
			e.ManagerKubecfg = filepath.Join(dir, "manager.kubeconfig")
			err = os.WriteFile(e.ManagerKubecfg, kc, 0o600)
		}
	}
	if err != nil {
		_ = e.Stop()
		return nil, fmt.Errorf("adding the manager's user: %w", err)
	}
	return e, nil
}

// APIServerStopTimeout is how long kube-apiserver may take to shut down gracefully before it
// is SIGKILLed (envtest's default).
const APIServerStopTimeout = 20 * time.Second

// RestartAPIServer stops kube-apiserver (SIGTERM, as a rolling control-plane upgrade does;
// SIGKILL after APIServerStopTimeout) and starts it again on the same port, certificates and
// etcd. It returns how long the stop took, how long until it was healthy again, and whether
// the stop ended in SIGKILL.
func (e *Env) RestartAPIServer() (stopped, healthy time.Duration, killed bool, err error) {
	api := e.Env.ControlPlane.APIServer
	start := time.Now()
	if err := api.Stop(); err != nil {
		if !strings.Contains(err.Error(), "timeout waiting") {
			return 0, 0, false, fmt.Errorf("stopping kube-apiserver: %w", err)
		}
		killed = true
	}
	stopped = time.Since(start)
	if err := api.Start(); err != nil {
		return 0, 0, killed, fmt.Errorf("starting kube-apiserver again: %w", err)
	}
	return stopped, time.Since(start), killed, nil
}

// Stop shuts the control plane and the proxy down.
func (e *Env) Stop() error {
	e.Proxy.Close()
	err := e.Env.Stop()
	_ = e.apiLog.Close()
	return err
}
