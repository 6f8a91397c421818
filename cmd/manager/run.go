package main

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/controllers"
	"github.com/pop-operator/pop/internal/bridge"
	"github.com/pop-operator/pop/internal/webhooks"
)

// newScheme registers the built-in kinds and POP's own.
func newScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := popv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return scheme, nil
}

// managerOptions turns command-line options into controller-runtime's.
func managerOptions(o options, scheme *runtime.Scheme) ctrl.Options {
	mo := ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress:        o.probeAddr,
		PprofBindAddress:              o.pprofAddr,
		LeaderElection:                o.leaderElect,
		LeaderElectionID:              o.leaderElectionID,
		LeaderElectionNamespace:       o.leaderElectionNamespace,
		LeaseDuration:                 &o.leaseDuration,
		LeaderElectionReleaseOnCancel: true,
		WebhookServer:                 webhook.NewServer(webhook.Options{Port: o.webhookPort, CertDir: o.webhookCertDir}),
	}
	// Cache only handler Pods: an operator that caches every Pod of a large cluster
	// spends its memory on objects it never reads.
	mo.Cache.ByObject = map[client.Object]cache.ByObject{
		&corev1.Pod{}: {Label: handlerPodSelector()},
	}
	if ns := o.watchedNamespaces(); len(ns) > 0 {
		mo.Cache.DefaultNamespaces = namespaceConfigs(ns)
		// The cluster-wide default HandlerTypes, Insights and AgendaTemplates live in the operator's own
		// namespace, watched or not: a lookup there in a cache without it fails, and no
		// Agenda using a default would ever be accepted.
		withOperator := namespaceConfigs(append(ns, o.operatorNamespace))
		mo.Cache.ByObject[&popv1.HandlerType{}] = cache.ByObject{Namespaces: withOperator}
		mo.Cache.ByObject[&popv1.Insight{}] = cache.ByObject{Namespaces: withOperator}
		mo.Cache.ByObject[&popv1.AgendaTemplate{}] = cache.ByObject{Namespaces: withOperator}
	}
	return mo
}

func namespaceConfigs(namespaces []string) map[string]cache.Config {
	out := make(map[string]cache.Config, len(namespaces))
	for _, n := range namespaces {
		out[n] = cache.Config{}
	}
	return out
}

func handlerPodSelector() labels.Selector {
	req, err := labels.NewRequirement(popv1.AgendaLabel, selection.Exists, nil)
	if err != nil {
		panic(err) // a constant label key cannot fail
	}
	return labels.NewSelector().Add(*req)
}

// controllerOptions are what the controllers run with.
func controllerOptions(o options) controllers.Options {
	return controllers.Options{
		MaxConcurrentReconciles: o.maxConcurrentReconciles,
		OperatorNamespace:       o.operatorNamespace,
		LaunchWait:              o.launchWait,
	}
}

// certOptions say where the webhook's certificate comes from, in the manager's namespace.
func certOptions(o options) webhooks.CertOptions {
	return webhooks.CertOptions{
		SelfManaged:       o.webhookCertMode == certModeSelfManaged,
		Namespace:         o.operatorNamespace,
		SecretName:        o.webhookCertSecret,
		ServiceName:       o.webhookService,
		ConfigurationName: o.webhookConfiguration,
		CertDir:           o.webhookCertDir,
	}
}

// newManager builds the manager, with the leader lock it elects on (nil without leader
// election).
func newManager(cfg *rest.Config, o options, scheme *runtime.Scheme) (ctrl.Manager, *leaderLock, error) {
	mo := managerOptions(o, scheme)
	var lock *leaderLock
	if o.leaderElect {
		var err error
		if lock, err = newLeaderLock(cfg, o); err != nil {
			return nil, nil, err
		}
		mo.LeaderElectionResourceLockInterface = lock.lock
	}
	mgr, err := ctrl.NewManager(cfg, mo)
	if err != nil {
		return nil, nil, fmt.Errorf("creating manager: %w", err)
	}
	return mgr, lock, nil
}

// setupControllers registers the controllers and the scheduler, fenced by the leader lock:
// a deposed leader's admissions must not land after its successor's.
func setupControllers(mgr ctrl.Manager, o options, lock *leaderLock) error {
	parts, err := controllers.Setup(mgr, controllerOptions(o))
	if err != nil {
		return err
	}
	if lock != nil {
		parts.Scheduler.Fence = lock.fence(mgr, o.leaseDuration)
	}
	return nil
}

// run builds the manager, registers the controllers that exist, and blocks until ctx ends.
func run(ctx context.Context, o options) error {
	log := ctrl.Log.WithName("setup")
	if err := o.validate(); err != nil {
		return err
	}
	scheme, err := newScheme()
	if err != nil {
		return fmt.Errorf("building scheme: %w", err)
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = float32(o.qps), o.burst

	mgr, lock, err := newManager(cfg, o, scheme)
	if err != nil {
		return err
	}
	if o.runControllers {
		if err := setupControllers(mgr, o, lock); err != nil {
			return err
		}
	}
	if o.bridge.Enabled() {
		if err := bridge.Setup(ctx, mgr, o.bridge, o.maxConcurrentReconciles); err != nil {
			return fmt.Errorf("setting up the AWS bridge: %w", err)
		}
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("adding health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("adding ready check: %w", err)
	}
	if o.enableWebhooks {
		served, err := webhooks.SetupWithCertificates(mgr, certOptions(o))
		if err != nil {
			return fmt.Errorf("setting up the Agenda webhook: %w", err)
		}
		// Not ready until the webhook serves: the Service sends the API server only to Pods
		// that can answer it, and `helm install --wait` returns only then.
		if err := mgr.AddReadyzCheck("webhook", served); err != nil {
			return fmt.Errorf("adding the webhook's ready check: %w", err)
		}
	}
	log.Info("Starting manager", "namespaces", o.watchedNamespaces(), "leaderElection", o.leaderElect)
	return mgr.Start(ctx)
}
