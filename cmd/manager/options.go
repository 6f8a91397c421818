package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/pop-operator/pop/internal/bridge"
	"github.com/pop-operator/pop/internal/execution"
)

// defaultWebhookCertDir is controller-runtime's default certificate folder, where the shipped
// Deployments mount the certificate Secret.
const defaultWebhookCertDir = "/tmp/k8s-webhook-server/serving-certs"

// The ways the webhook server gets its serving certificate (--webhook-cert-mode).
const (
	// certModeSelfManaged: the manager creates the Secret, issues a CA and a certificate into
	// it, rotates them, and injects the CA into the ValidatingWebhookConfiguration.
	certModeSelfManaged = "self-managed"
	// certModeExternal: another tool (cert-manager, or the user) fills the Secret and injects
	// the CA; the manager waits for the mounted files.
	certModeExternal = "external"
)

// minLaunchWait is the shortest --launch-wait: the planner retries refused Pods and rechecks
// waits no more often than once a second.
const minLaunchWait = time.Second

// options are the manager's command-line settings.
type options struct {
	metricsAddr             string
	probeAddr               string
	pprofAddr               string
	leaderElect             bool
	leaderElectionID        string
	leaderElectionNamespace string
	leaseDuration           time.Duration
	namespaces              string
	qps                     float64
	burst                   int
	maxConcurrentReconciles int
	launchWait              time.Duration
	operatorNamespace       string
	enableWebhooks          bool
	webhookPort             int
	webhookCertDir          string
	webhookCertMode         string
	webhookCertSecret       string
	webhookService          string
	webhookConfiguration    string
	runControllers          bool
	bridge                  bridge.Config
	zap                     zap.Options
}

// parseArgs reads the manager's command line exactly as the binary does — its flags,
// controller-runtime's logging flags, then validate — so tests of the shipped manifests parse
// their args with the same code. Usage and parse errors are written to out.
func parseArgs(args []string, out io.Writer) (options, error) {
	o := defaultOptions()
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	fs.SetOutput(out)
	o.bindFlags(fs)
	o.zap.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q: the manager takes only flags", fs.Args())
	}
	return o, o.validate()
}

func defaultOptions() options {
	return options{
		metricsAddr:      ":8080",
		probeAddr:        ":8081",
		leaderElectionID: "pop-manager.pop.dev",
		leaseDuration:    15 * time.Second,
		// client-go's defaults (5 QPS, burst 10) are what cap peer operators' throughput;
		// POP writes a status per operation transition, so it needs far more.
		qps:                     500,
		burst:                   1000,
		maxConcurrentReconciles: 8,
		launchWait:              execution.DefaultLaunchWait,
		operatorNamespace:       envOr("POD_NAMESPACE", "pop-system"),
		webhookPort:             9443,
		runControllers:          true,
		bridge:                  bridge.DefaultConfig(),
		webhookCertDir:          defaultWebhookCertDir,
		webhookCertMode:         certModeSelfManaged,
		// The names the Helm chart and the Kustomize base give these objects.
		webhookCertSecret:    "pop-webhook-server-cert",
		webhookService:       "pop-webhook-service",
		webhookConfiguration: "pop-validating-webhook-configuration",
	}
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func (o *options) bindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", o.metricsAddr,
		"Address the Prometheus metrics endpoint binds to; 0 disables it.")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", o.probeAddr,
		"Address the /healthz and /readyz probes bind to.")
	fs.StringVar(&o.pprofAddr, "pprof-bind-address", o.pprofAddr,
		"Address net/http/pprof's endpoints (/debug/pprof/) bind to; off when empty (the default). Profiles show where the manager spends its time (docs/benchmarks.md); bind it to loopback.")
	fs.BoolVar(&o.leaderElect, "leader-elect", o.leaderElect,
		"Elect a leader so that only one replica schedules and reconciles at a time.")
	fs.StringVar(&o.leaderElectionID, "leader-election-id", o.leaderElectionID,
		"Name of the Lease used for leader election.")
	fs.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", o.leaderElectionNamespace,
		"Namespace of the leader-election Lease; the manager's own namespace when empty.")
	fs.DurationVar(&o.leaseDuration, "leader-election-lease-duration", o.leaseDuration,
		"How long a leader's Lease is valid without renewal.")
	fs.StringVar(&o.namespaces, "namespaces", o.namespaces,
		"Comma-separated namespaces to watch; all namespaces when empty. HandlerTypes and Insights of --operator-namespace (the cluster-wide defaults) are watched too.")
	fs.Float64Var(&o.qps, "kube-api-qps", o.qps, "Queries per second allowed to the API server.")
	fs.IntVar(&o.burst, "kube-api-burst", o.burst, "Burst of queries allowed to the API server.")
	fs.StringVar(&o.operatorNamespace, "operator-namespace", o.operatorNamespace,
		"Namespace of the cluster-wide default HandlerTypes (defaults to $POD_NAMESPACE, else pop-system).")
	fs.BoolVar(&o.enableWebhooks, "enable-webhooks", o.enableWebhooks,
		"Serve the validating webhook (needs a serving certificate in --webhook-cert-dir). Without it the controller still validates and reports problems in status.")
	fs.IntVar(&o.webhookPort, "webhook-port", o.webhookPort, "Port the webhook server listens on.")
	fs.StringVar(&o.webhookCertDir, "webhook-cert-dir", o.webhookCertDir,
		"Folder holding tls.crt and tls.key for the webhook server (where the certificate Secret is mounted).")
	fs.StringVar(&o.webhookCertMode, "webhook-cert-mode", o.webhookCertMode,
		"How the webhook gets its serving certificate: \"self-managed\" (the manager creates the Secret --webhook-cert-secret, "+
			"issues and rotates a CA and certificate in it, and injects the CA into --webhook-configuration) or \"external\" "+
			"(cert-manager or another tool fills the Secret and injects the CA; the manager waits for the files in --webhook-cert-dir).")
	fs.StringVar(&o.webhookCertSecret, "webhook-cert-secret", o.webhookCertSecret,
		"Secret in the manager's namespace that holds the webhook's certificate (self-managed mode writes it).")
	fs.StringVar(&o.webhookService, "webhook-service", o.webhookService,
		"Service in front of the webhook; the self-managed certificate is for <service>.<namespace>.svc.")
	fs.StringVar(&o.webhookConfiguration, "webhook-configuration", o.webhookConfiguration,
		"ValidatingWebhookConfiguration the self-managed CA is injected into.")
	fs.BoolVar(&o.runControllers, "controllers", o.runControllers,
		"Run the Agenda and HandlerType controllers and the scheduler; false runs only the AWS bridge (its own Deployment).")
	o.bridge.BindFlags(fs)
	fs.IntVar(&o.maxConcurrentReconciles, "max-concurrent-reconciles", o.maxConcurrentReconciles,
		"Reconciles each controller runs in parallel.")
	fs.DurationVar(&o.launchWait, "launch-wait", o.launchWait,
		"How long a ready operation may be kept from starting (its HandlerType missing or not Ready, its Pod refused "+
			"for a reason that may pass, such as a quota) before it fails. At least 1s.")
}

// watchedNamespaces splits the --namespaces flag, dropping blanks and duplicates.
func (o *options) watchedNamespaces() []string {
	seen := map[string]bool{}
	var out []string
	for _, ns := range strings.Split(o.namespaces, ",") {
		ns = strings.TrimSpace(ns)
		if ns != "" && !seen[ns] {
			seen[ns] = true
			out = append(out, ns)
		}
	}
	return out
}

func (o *options) validate() error {
	if o.qps <= 0 || o.burst <= 0 {
		return fmt.Errorf("--kube-api-qps and --kube-api-burst must be positive, got %v and %d", o.qps, o.burst)
	}
	if o.maxConcurrentReconciles < 1 {
		return fmt.Errorf("--max-concurrent-reconciles must be at least 1, got %d", o.maxConcurrentReconciles)
	}
	// Refused Pods are retried and waits rechecked at one-second granularity: a shorter wait
	// would fail operations before their first retry.
	if o.launchWait < minLaunchWait {
		return fmt.Errorf("--launch-wait must be at least %s, got %s", minLaunchWait, o.launchWait)
	}
	if o.webhookCertMode != certModeSelfManaged && o.webhookCertMode != certModeExternal {
		return fmt.Errorf("--webhook-cert-mode must be %q or %q, got %q", certModeSelfManaged, certModeExternal, o.webhookCertMode)
	}
	if o.enableWebhooks && !o.runControllers {
		return fmt.Errorf("--enable-webhooks needs the controllers: the bridge-only Deployment (--controllers=false) serves no webhook")
	}
	if !o.runControllers && !o.bridge.Enabled() {
		return fmt.Errorf("--controllers=false runs only the AWS bridge, which needs --bridge-intake-queues or --bridge-table")
	}
	if o.bridge.Enabled() {
		return o.bridge.Validate()
	}
	return nil
}
