// Package controllers holds one reconciler per POP kind.
package controllers

import (
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
)

// Options tune every controller.
type Options struct {
	// MaxConcurrentReconciles is how many objects each controller reconciles in parallel.
	MaxConcurrentReconciles int
}

// SetupAll registers every controller that exists with the manager.
// The Agenda and Insight controllers and the scheduler arrive with their own issues.
func SetupAll(mgr ctrl.Manager, opts Options) error {
	ht := &HandlerTypeReconciler{Client: mgr.GetClient()}
	if err := ht.SetupWithManager(mgr, opts); err != nil {
		return fmt.Errorf("setting up HandlerType controller: %w", err)
	}
	return nil
}
