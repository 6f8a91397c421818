// Package controllers_test runs POP's controllers in a manager against a real
// kube-apiserver, with a simulated kubelet (test/podsim), and asserts through an uncached
// client.
package controllers_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/pop-operator/pop/controllers"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

const operatorNamespace = "pop-system"

// launchWait is how long the suite's controller lets a ready operation wait for its
// HandlerType or for a refused Pod, instead of the default minutes.
const launchWait = 3 * time.Second

var (
	env         *framework.Env
	ctx         context.Context
	cancel      context.CancelFunc
	sim         *podsim.Simulator
	stopManager context.CancelFunc
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controllers suite")
}

var _ = BeforeSuite(func() {
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())
	var err error
	env, err = framework.Start()
	Expect(err).NotTo(HaveOccurred())
	Expect(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}})).To(Succeed())

	sim = podsim.New(env.Client)
	go sim.Run(ctx)
	stopManager = startManager()
})

// startManager runs POP's controllers in a fresh manager and returns its stop function,
// which waits until the manager has stopped. wrap, when given, wraps the manager's client.
func startManager(wrap ...func(client.Client) client.Client) context.CancelFunc {
	GinkgoHelper()
	opts := framework.ManagerOptions()
	if len(wrap) > 0 {
		opts.NewClient = func(cfg *rest.Config, o client.Options) (client.Client, error) {
			c, err := client.NewWithWatch(cfg, o)
			if err != nil {
				return nil, err
			}
			return wrap[0](c), nil
		}
	}
	mgr, err := ctrl.NewManager(env.Config, opts)
	Expect(err).NotTo(HaveOccurred())
	parts, err := controllers.Setup(mgr, controllers.Options{MaxConcurrentReconciles: 4, OperatorNamespace: operatorNamespace,
		LaunchWait: launchWait})
	Expect(err).NotTo(HaveOccurred())
	stop, err := framework.RunManager(ctx, mgr, parts.Scheduler.Ready(), func(err error) { Fail(err.Error()) })
	Expect(err).NotTo(HaveOccurred())
	return stop
}

var _ = AfterSuite(func() {
	if stopManager != nil {
		stopManager()
	}
	if cancel != nil {
		cancel()
	}
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})
