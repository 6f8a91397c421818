package main

import (
	"context"
	"io"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/controllers"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

// TestNamespacesWithoutTheOperatorNamespace: a manager told to watch only a customer's
// namespace still finds the cluster-wide default HandlerTypes (and Insights) of its own
// namespace. Before, their lookups went to a cache that did not hold that namespace, failed,
// and the Agenda was never accepted.
func TestNamespacesWithoutTheOperatorNamespace(t *testing.T) {
	env, err := framework.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for _, ns := range []string{"tenant-a", "pop-system"} {
		if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	o, err := parseArgs([]string{"--namespaces=tenant-a", "--operator-namespace=pop-system",
		"--metrics-bind-address=0", "--health-probe-bind-address=0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := ctrl.NewManager(env.Config, managerOptions(o, framework.Scheme()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := controllers.Setup(mgr, controllerOptions(o)); err != nil {
		t.Fatal(err)
	}
	go func() { _ = mgr.Start(ctx) }()

	if err := env.Client.Create(ctx, builders.MakeHandlerType("shared", "pop-system", "img:1").Obj()); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, builders.MakeInsight("shared", "pop-system").Obj()); err != nil { // selects every namespace
		t.Fatal(err)
	}
	ag := builders.MakeAgenda("uses-default", "tenant-a").Op("a", "shared", 1).Obj()
	if err := env.Client.Create(ctx, ag); err != nil {
		t.Fatal(err)
	}
	var cur popv1.Agenda
	deadline := time.Now().Add(framework.Timeout)
	for time.Now().Before(deadline) {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ag), &cur); err == nil &&
			meta.IsStatusConditionTrue(cur.Status.Conditions, popv1.AgendaAccepted) &&
			meta.IsStatusConditionTrue(cur.Status.Conditions, popv1.AgendaAdmitted) && cur.Status.Insight == "pop-system/shared" {
			return
		}
		time.Sleep(framework.Interval)
	}
	t.Fatalf("Agenda not accepted and admitted by pop-system/shared within %s; insight %q, conditions %+v",
		framework.Timeout, cur.Status.Insight, cur.Status.Conditions)
}
