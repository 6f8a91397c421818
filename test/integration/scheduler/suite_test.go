// Package scheduler_test runs schedulers in managers against a real kube-apiserver, for
// what needs one: two schedulers racing over a lease handover, and the admission order
// judged from the API server's watch stream. The Agenda controller does not run here:
// specs write Accepted and the end of an Agenda themselves, as it would.
package scheduler_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/pop-operator/pop/controllers"
	"github.com/pop-operator/pop/internal/scheduler"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

const operatorNamespace = "pop-system"

var (
	env    *framework.Env
	ctx    context.Context
	cancel context.CancelFunc
)

func TestScheduler(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Scheduler suite")
}

var _ = BeforeSuite(func() {
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())
	var err error
	env, err = framework.Start()
	Expect(err).NotTo(HaveOccurred())
	Expect(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}})).To(Succeed())
	sim := podsim.New(env.Client)
	go sim.Run(ctx)
})

var _ = AfterSuite(func() {
	if cancel != nil {
		cancel()
	}
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})

// startScheduler runs a scheduler alone in a manager of its own, with fence (nil: none)
// and its client wrapped by wrap (nil: as is); the returned function stops it.
func startScheduler(fence scheduler.Fence, wrap func(client.Client) client.Client) context.CancelFunc {
	GinkgoHelper()
	opts := framework.ManagerOptions()
	if wrap != nil {
		opts.NewClient = func(cfg *rest.Config, o client.Options) (client.Client, error) {
			c, err := client.New(cfg, o)
			if err != nil {
				return nil, err
			}
			return wrap(c), nil
		}
	}
	mgr, err := ctrl.NewManager(env.Config, opts)
	Expect(err).NotTo(HaveOccurred())
	s := scheduler.New(scheduler.Options{Client: mgr.GetClient(), Cache: mgr.GetCache(), Clock: clock.RealClock{},
		OperatorNamespace: operatorNamespace, Log: mgr.GetLogger().WithName("scheduler"), Fence: fence})
	Expect(mgr.Add(s)).To(Succeed())
	stop, err := framework.RunManager(ctx, mgr, s.Ready(), func(err error) { defer GinkgoRecover(); Fail(err.Error()) })
	Expect(err).NotTo(HaveOccurred())
	return stop
}

// startControllers runs POP's controllers and scheduler in one manager, as the operator
// does; the returned function stops it.
func startControllers() context.CancelFunc {
	GinkgoHelper()
	mgr, err := ctrl.NewManager(env.Config, framework.ManagerOptions())
	Expect(err).NotTo(HaveOccurred())
	parts, err := controllers.Setup(mgr, controllers.Options{MaxConcurrentReconciles: 4, OperatorNamespace: operatorNamespace})
	Expect(err).NotTo(HaveOccurred())
	stop, err := framework.RunManager(ctx, mgr, parts.Scheduler.Ready(), func(err error) { defer GinkgoRecover(); Fail(err.Error()) })
	Expect(err).NotTo(HaveOccurred())
	return stop
}

// timeout bounds each wait of a spec.
const timeout = 30 * time.Second
