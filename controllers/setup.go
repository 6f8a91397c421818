// Package controllers holds one reconciler per POP kind.
package controllers

import (
	"fmt"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
)

// Options tune every controller.
type Options struct {
	// MaxConcurrentReconciles is how many objects each controller reconciles in parallel.
	MaxConcurrentReconciles int
	// OperatorNamespace holds cluster-wide default HandlerTypes.
	OperatorNamespace string
}

// SetupAll registers every controller that exists with the manager.
// The Agenda and Insight controllers and the scheduler arrive with their own issues.
func SetupAll(mgr ctrl.Manager, opts Options) error {
	ht := &HandlerTypeReconciler{Client: mgr.GetClient()}
	if err := ht.SetupWithManager(mgr, opts); err != nil {
		return fmt.Errorf("setting up HandlerType controller: %w", err)
	}
	ag := &AgendaReconciler{
		Client:            mgr.GetClient(),
		APIReader:         mgr.GetAPIReader(),
		Recorder:          mgr.GetEventRecorder("pop-agenda-controller"),
		Clock:             clock.RealClock{},
		OperatorNamespace: opts.OperatorNamespace,
	}
	if err := ag.SetupWithManager(mgr, opts); err != nil {
		return fmt.Errorf("setting up Agenda controller: %w", err)
	}
	return nil
}
