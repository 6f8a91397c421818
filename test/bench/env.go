// Package bench measures POP end to end on envtest: the API server's write ceiling, then the
// manager binary (built from ./cmd/manager, run as its own process with its default flags)
// driven by an in-process Pod simulator. The command is test/bench/cmd/popbench (`make bench`).
package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

// ManagerUser is the API server user the manager runs as; the audit policy records only its
// requests, so every counted write is the manager's.
const ManagerUser = "pop-manager"

// OperatorNamespace holds the HandlerType every benchmark operation runs.
const OperatorNamespace = "pop-system"

// HandlerType is the benchmark's one operation type.
const HandlerType = "bench-echo"

// Customers is how many customer namespaces (c000…) the benchmark spreads Agendas over.
const Customers = 100

// auditPolicy logs the manager's requests (watches aside) at Metadata level: kind, verb,
// object name and timestamps, no bodies.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  verbs: ["watch"]
- level: Metadata
  users: ["` + ManagerUser + `"]
- level: None
`

// Env is the control plane, the bench's own client (admin, no client-side rate limit) and
// the manager's kubeconfig.
type Env struct {
	Env            *envtest.Environment
	Config         *rest.Config
	Client         client.Client
	AuditLog       string
	ManagerKubecfg string
}

// StartEnv starts envtest with POP's CRDs, an audit log of the manager's requests and an
// etcd quota big enough for 100,000 Agendas.
func StartEnv(dir string) (*Env, error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return nil, fmt.Errorf("KUBEBUILDER_ASSETS is not set: run `make bench`, or export KUBEBUILDER_ASSETS=$(hack/envtest-assets.sh)")
	}
	policy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o644); err != nil {
		return nil, err
	}
	e := &Env{AuditLog: filepath.Join(dir, "audit.log")}
	e.Env = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(framework.RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	api := e.Env.ControlPlane.GetAPIServer().Configure()
	api.Append("audit-policy-file", policy)
	api.Append("audit-log-path", e.AuditLog)
	api.Append("audit-log-format", "json")
	// 0 would mean lumberjack's default, a rotation every 100 MB; the full run writes more.
	api.Append("audit-log-maxsize", "1000000")
	e.Env.ControlPlane.Etcd = &envtest.Etcd{}
	e.Env.ControlPlane.Etcd.Configure().Append("quota-backend-bytes", strconv.Itoa(8<<30))
	cfg, err := e.Env.Start()
	if err != nil {
		_ = e.Env.Stop() // a failed start (CRDs refused) leaves the control plane running
		return nil, fmt.Errorf("starting envtest: %w", err)
	}
	cfg.QPS, cfg.Burst = 1e6, 1e6 // the bench must never be the bottleneck it measures
	e.Config = cfg
	if e.Client, err = client.New(cfg, client.Options{Scheme: framework.Scheme()}); err != nil {
		_ = e.Env.Stop()
		return nil, err
	}
	// In system:masters like envtest's admin, so that API Priority and Fairness treats the
	// manager and the ceiling's workers alike (both exempt).
	user, err := e.Env.AddUser(envtest.User{Name: ManagerUser, Groups: []string{"system:masters"}}, nil)
	if err == nil {
		var kc []byte
		if kc, err = user.KubeConfig(); err == nil {
			e.ManagerKubecfg = filepath.Join(dir, "manager.kubeconfig")
			err = os.WriteFile(e.ManagerKubecfg, kc, 0o600)
		}
	}
	if err != nil {
		_ = e.Env.Stop()
		return nil, fmt.Errorf("adding the manager's user: %w", err)
	}
	return e, nil
}

// Stop shuts the control plane down.
func (e *Env) Stop() error { return e.Env.Stop() }

// CustomerNamespace is the namespace of customer i.
func CustomerNamespace(i int) string { return fmt.Sprintf("c%03d", i%Customers) }

// Seed creates the operator namespace with the HandlerType and the customer namespaces.
func (e *Env) Seed(ctx context.Context) error {
	nss := []*corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: OperatorNamespace}}}
	for i := range Customers {
		name := CustomerNamespace(i)
		nss = append(nss, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{popv1.CustomerLabel: name}}})
	}
	for _, ns := range nss {
		if err := e.Client.Create(ctx, ns); err != nil {
			return err
		}
	}
	return e.Client.Create(ctx, builders.MakeHandlerType(HandlerType, OperatorNamespace, "bench/echo:1").Obj())
}

// HandlerSpec is the spec of the benchmark's HandlerType, for Pods the bench builds itself.
func HandlerSpec() *popv1.HandlerTypeSpec {
	return &builders.MakeHandlerType(HandlerType, OperatorNamespace, "bench/echo:1").Obj().Spec
}
