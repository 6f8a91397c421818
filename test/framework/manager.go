package framework

import (
	"context"
	"fmt"
	"time"

	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// ManagerOptions are the options of a manager a suite runs in its own process: no metrics
// listener, and controller names may repeat because suites restart the manager.
func ManagerOptions() ctrl.Options {
	return ctrl.Options{
		Scheme:     Scheme(),
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	}
}

// RunManager starts mgr, waits until ready is closed (e.g. the scheduler's Ready, so that
// Agendas created next are numbered as they come), and returns the stop function, which
// waits until the manager has stopped. A manager that fails is reported through onError.
func RunManager(ctx context.Context, mgr ctrl.Manager, ready <-chan struct{}, onError func(error)) (context.CancelFunc, error) {
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(mctx); err != nil {
			onError(err)
		}
	}()
	stop := func() {
		cancel()
		<-done
	}
	select {
	case <-ready:
		return stop, nil
	case <-done:
		cancel()
		return nil, fmt.Errorf("the manager stopped before it was ready")
	case <-time.After(Timeout):
		stop()
		return nil, fmt.Errorf("the manager was not ready within %s", Timeout)
	}
}
