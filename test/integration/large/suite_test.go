// Package large_test runs Agendas of thousands of operations with outputs at their bound
// (4 KiB) through POP's controllers on a real kube-apiserver, with the pod simulator, and
// holds every object the controller writes to the status layout's bound (issue 14,
// docs/status-layout.md). It has its own control plane: its Agendas would slow the other
// suites' specs.
package large_test

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/controllers"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

const operatorNamespace = "pop-system"

var (
	env    *framework.Env
	ctx    context.Context
	cancel context.CancelFunc
	sim    *podsim.Simulator
)

func TestLarge(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Large Agendas suite")
}

var _ = BeforeSuite(func() {
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter)))
	ctx, cancel = context.WithCancel(context.Background())
	var err error
	env, err = framework.Start()
	Expect(err).NotTo(HaveOccurred())
	Expect(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}})).To(Succeed())
	sim = podsim.New(env.Client)
	sim.SetScript(outputOf(4096))
	go sim.Run(ctx)

	mgr, err := ctrl.NewManager(env.Config, framework.ManagerOptions())
	Expect(err).NotTo(HaveOccurred())
	parts, err := controllers.Setup(mgr, controllers.Options{MaxConcurrentReconciles: 8, OperatorNamespace: operatorNamespace})
	Expect(err).NotTo(HaveOccurred())
	stop, err := framework.RunManager(ctx, mgr, parts.Scheduler.Ready(), func(err error) { Fail(err.Error()) })
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(stop)
})

var _ = AfterSuite(func() {
	cancel()
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})

// outputOf is a handler whose output is a JSON string of n bytes, quotes included. The
// Pods of an Agenda labelled slow run for a second first (the cancel spec's).
func outputOf(n int) podsim.Script {
	out := `"` + strings.Repeat("x", n-2) + `"`
	return func(pod *corev1.Pod) podsim.Behaviour {
		b := podsim.Behaviour{Message: out}
		if pod.Labels[popv1.AgendaLabel] == slowAgenda {
			b.RunFor = time.Second
		}
		return b
	}
}
