// Package controllers holds the reconcilers of Agendas and HandlerTypes. Insights have none:
// the scheduler (internal/scheduler) keeps their status.
package controllers

import (
	"fmt"
	"time"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/pop-operator/pop/internal/scheduler"
)

// Options tune every controller.
type Options struct {
	// MaxConcurrentReconciles is how many objects each controller reconciles in parallel.
	MaxConcurrentReconciles int
	// OperatorNamespace holds cluster-wide default HandlerTypes.
	OperatorNamespace string
	// LaunchWait bounds how long a ready operation may be kept from starting (its
	// HandlerType unavailable, its Pod refused for a reason that may pass) before it fails;
	// execution.DefaultLaunchWait when zero.
	LaunchWait time.Duration
}

// SetupAll registers with the manager everything it runs: the HandlerType and Agenda
// controllers, and the scheduler (which also keeps Insights' status).
func SetupAll(mgr ctrl.Manager, opts Options) error {
	_, err := Setup(mgr, opts)
	return err
}

// Components are the parts Setup registered that callers may wait on.
type Components struct {
	Scheduler *scheduler.Scheduler
}

// Setup is SetupAll, returning the parts it registered.
func Setup(mgr ctrl.Manager, opts Options) (*Components, error) {
	ht := &HandlerTypeReconciler{Client: mgr.GetClient()}
	if err := ht.SetupWithManager(mgr, opts); err != nil {
		return nil, fmt.Errorf("setting up HandlerType controller: %w", err)
	}
	ag := &AgendaReconciler{
		Client:            mgr.GetClient(),
		APIReader:         mgr.GetAPIReader(),
		Recorder:          mgr.GetEventRecorder("pop-agenda-controller"),
		Clock:             clock.RealClock{},
		OperatorNamespace: opts.OperatorNamespace,
		LaunchWait:        opts.LaunchWait,
	}
	if err := ag.SetupWithManager(mgr, opts); err != nil {
		return nil, fmt.Errorf("setting up Agenda controller: %w", err)
	}
	sched := scheduler.New(scheduler.Options{
		Client:            mgr.GetClient(),
		Cache:             mgr.GetCache(),
		Clock:             clock.RealClock{},
		OperatorNamespace: opts.OperatorNamespace,
		Log:               mgr.GetLogger().WithName("scheduler"),
	})
	if err := mgr.Add(sched); err != nil {
		return nil, fmt.Errorf("adding the scheduler: %w", err)
	}
	return &Components{Scheduler: sched}, nil
}
