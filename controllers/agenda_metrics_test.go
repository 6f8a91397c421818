package controllers

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/metrics"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

// metricsWorld is an Agenda controller on a fake API server whose status writes can be
// refused with a Conflict on demand, as a concurrent writer would make them.
type metricsWorld struct {
	r        *AgendaReconciler
	c        client.Client
	events   *events.FakeRecorder
	conflict atomic.Int32 // status patches still to refuse
	req      ctrl.Request
}

func newMetricsWorld(t *testing.T, ag *popv1.Agenda, handlerType string) *metricsWorld {
	t.Helper()
	w := &metricsWorld{events: events.NewFakeRecorder(100), req: ctrl.Request{NamespacedName: client.ObjectKeyFromObject(ag)}}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ag.Namespace}}
	ht := builders.MakeHandlerType(handlerType, ag.Namespace, "img:1").Obj()
	w.c = fake.NewClientBuilder().WithScheme(framework.Scheme()).WithObjects(ag, ns, ht).
		WithStatusSubresource(&popv1.Agenda{}, &corev1.Pod{}).
		WithInterceptorFuncs(interceptor.Funcs{SubResourcePatch: w.refuseSome, Create: stampCreation}).Build()
	w.r = &AgendaReconciler{Client: w.c, APIReader: w.c, Recorder: w.events, Clock: clock.RealClock{}}
	return w
}

func (w *metricsWorld) refuseSome(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	if _, isAgenda := obj.(*popv1.Agenda); isAgenda && w.conflict.Add(-1) >= 0 {
		return apierrors.NewConflict(schema.GroupResource{Group: "pop.dev", Resource: "agendas"}, obj.GetName(), nil)
	}
	return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
}

// stampCreation sets creationTimestamp, as the API server does and the fake client does not:
// a Pod without one would look Pending since the epoch.
func stampCreation(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
	obj.SetCreationTimestamp(metav1.Now())
	return c.Create(ctx, obj, opts...)
}

func (w *metricsWorld) reconcile(t *testing.T) {
	t.Helper()
	if _, err := w.r.Reconcile(context.Background(), w.req); err != nil {
		t.Fatal(err)
	}
}

// succeedPods ends every Pod of the Agenda with exit code 0.
func (w *metricsWorld) succeedPods(t *testing.T) {
	t.Helper()
	var pods corev1.PodList
	if err := w.c.List(context.Background(), &pods); err != nil || len(pods.Items) == 0 {
		t.Fatalf("listing Pods: %v, %d found", err, len(pods.Items))
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		p.Status.Phase = corev1.PodSucceeded
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "handler", State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{Message: `"done"`}}}}
		if err := w.c.Status().Update(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
}

// eventReasons drains the recorded Events and counts them by reason.
func (w *metricsWorld) eventReasons() map[string]int {
	out := map[string]int{}
	for {
		select {
		case e := <-w.events.Events:
			out[strings.Fields(e)[1]]++
		default:
			return out
		}
	}
}

func admittedAgenda(name, handlerType string) *popv1.Agenda {
	ag := builders.MakeAgenda(name, "metrics").Op("only", handlerType, 1).Obj()
	ag.UID, ag.Generation = types.UID("uid-"+name), 1
	ag.Spec.PodCleanup = popv1.KeepAll
	now := metav1.Now()
	meta.SetStatusCondition(&ag.Status.Conditions, metav1.Condition{Type: popv1.AgendaAdmitted, Status: metav1.ConditionTrue,
		Reason: popv1.ReasonAdmittedByScheduler, Message: "test"})
	ag.Status.AdmissionTime = &now
	ag.Status.Insight = "metrics/" + name
	return ag
}

// TestTransitionsCountOnceWhenAStatusWriteIsRefused: metrics and Events describe status
// that was stored. A write refused with a Conflict is recomputed and written again; before,
// each try counted the same end, so one Agenda was counted as finished twice.
func TestTransitionsCountOnceWhenAStatusWriteIsRefused(t *testing.T) {
	const handlerType = "metrics-refused"
	w := newMetricsWorld(t, admittedAgenda("refused", handlerType), handlerType)
	finished := metrics.AgendasFinished.WithLabelValues("metrics/refused", "succeeded")
	opsDone := metrics.OperationsFinished.WithLabelValues(handlerType, "succeeded")
	started := metrics.OperationsStarted.WithLabelValues(handlerType)
	finishedBefore := testutil.ToFloat64(finished)

	w.conflict.Store(1) // the write recording the launch is refused once
	w.reconcile(t)
	w.reconcile(t)
	if got := testutil.ToFloat64(started); got != 1 {
		t.Errorf("pop_operations_started_total{handler_type=%q} = %v after a refused and a stored write, want 1", handlerType, got)
	}
	w.succeedPods(t)
	w.eventReasons()

	w.conflict.Store(1) // the write recording the end is refused once
	w.reconcile(t)
	w.reconcile(t)

	if got := testutil.ToFloat64(finished) - finishedBefore; got != 1 {
		t.Errorf(`pop_agendas_finished_total{insight="metrics/refused",result="succeeded"} grew by %v, want 1`, got)
	}
	if got := testutil.ToFloat64(opsDone); got != 1 {
		t.Errorf("pop_operations_finished_total{handler_type=%q,result=succeeded} = %v, want 1", handlerType, got)
	}
	if got := w.eventReasons()[popv1.ReasonAllOperationsSucceed]; got != 1 {
		t.Errorf("%d %s Events, want 1", got, popv1.ReasonAllOperationsSucceed)
	}
	var cur popv1.Agenda
	if err := w.c.Get(context.Background(), w.req.NamespacedName, &cur); err != nil || cur.Status.Phase != popv1.PhaseSucceeded {
		t.Fatalf("Agenda phase %q (%v), want Succeeded", cur.Status.Phase, err)
	}
}

// TestCancelBeforeAdmissionCountsAFinishedAgenda: an Agenda cancelled while it waits for
// the scheduler ends Cancelled, and that end is counted like any other.
func TestCancelBeforeAdmissionCountsAFinishedAgenda(t *testing.T) {
	ag := builders.MakeAgenda("early-cancel", "metrics").Op("only", "metrics-cancel", 1).Obj()
	ag.UID, ag.Spec.Cancel = "uid-early-cancel", true
	w := newMetricsWorld(t, ag, "metrics-cancel")
	cancelled := metrics.AgendasFinished.WithLabelValues("", "cancelled")
	before := testutil.ToFloat64(cancelled)

	w.reconcile(t)

	if got := testutil.ToFloat64(cancelled) - before; got != 1 {
		t.Errorf(`pop_agendas_finished_total{insight="",result="cancelled"} grew by %v, want 1`, got)
	}
	var cur popv1.Agenda
	if err := w.c.Get(context.Background(), w.req.NamespacedName, &cur); err != nil || cur.Status.Phase != popv1.PhaseCancelled {
		t.Fatalf("Agenda phase %q (%v), want Cancelled", cur.Status.Phase, err)
	}
	if got := w.eventReasons()[string(popv1.PhaseCancelled)]; got != 1 {
		t.Errorf("%d Cancelled Events, want 1", got)
	}
}
