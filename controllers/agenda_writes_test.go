package controllers

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

// writesWorld is an Agenda controller on a fake API server that counts the status patches
// and Pod collection deletes it makes. Collection deletes can be made to leave the Pods in
// place, as the controller's cache shows them until it sees their deletion.
type writesWorld struct {
	r              *AgendaReconciler
	c              client.Client
	statusPatches  int
	deleteAllOfs   int
	keepOnDeletion bool
	req            ctrl.Request
}

func newWritesWorld(t *testing.T, ag *popv1.Agenda) *writesWorld {
	t.Helper()
	w := &writesWorld{req: ctrl.Request{NamespacedName: client.ObjectKeyFromObject(ag)}}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ag.Namespace}}
	ht := builders.MakeHandlerType("echo", ag.Namespace, "img:1").Obj()
	w.c = fake.NewClientBuilder().WithScheme(framework.Scheme()).WithObjects(ag, ns, ht).
		WithStatusSubresource(&popv1.Agenda{}, &corev1.Pod{}).
		WithInterceptorFuncs(interceptor.Funcs{
			Create: stampCreation,
			SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
				w.statusPatches++
				return c.SubResource(sub).Patch(ctx, obj, p, opts...)
			},
			DeleteAllOf: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteAllOfOption) error {
				w.deleteAllOfs++
				if w.keepOnDeletion {
					return nil
				}
				return c.DeleteAllOf(ctx, obj, opts...)
			},
		}).Build()
	w.r = &AgendaReconciler{Client: w.c, APIReader: w.c, Recorder: events.NewFakeRecorder(100), Clock: clock.RealClock{}}
	return w
}

func (w *writesWorld) reconcile(t *testing.T) {
	t.Helper()
	if _, err := w.r.Reconcile(context.Background(), w.req); err != nil {
		t.Fatal(err)
	}
}

// TestANewAgendaIsAcceptedInOneStatusWrite: the first pass over a new Agenda records its
// verdict, its phase and the generation it observed together. Before, acceptance was written
// first and the waiting phase with observedGeneration second: two patches for one pass.
func TestANewAgendaIsAcceptedInOneStatusWrite(t *testing.T) {
	ag := builders.MakeAgenda("fresh", "writes").Op("a", "echo", 1).UID("uid-fresh").Generation(1).Obj()
	w := newWritesWorld(t, ag)

	w.reconcile(t)

	if w.statusPatches != 1 {
		t.Errorf("%d status patches in the first pass, want 1", w.statusPatches)
	}
	var cur popv1.Agenda
	if err := w.c.Get(context.Background(), w.req.NamespacedName, &cur); err != nil {
		t.Fatal(err)
	}
	if !popv1.IsAccepted(&cur) || cur.Status.Phase != popv1.PhasePending || cur.Status.ObservedGeneration != 1 {
		t.Errorf("accepted %v, phase %q, observedGeneration %d; want accepted, Pending, 1", popv1.IsAccepted(&cur),
			cur.Status.Phase, cur.Status.ObservedGeneration)
	}
	w.reconcile(t)
	if w.statusPatches != 1 {
		t.Errorf("%d status patches after a second pass over the same Agenda, want still 1", w.statusPatches)
	}
}

// TestAFinishedAgendasPodsAreCleanedUpOnce: the Pods of an end are deleted once. The passes
// that follow the end (woken by the status write and by the Pods' deletion) may still see the
// Pods in the cache; before, each of them asked for the same deletion again.
func TestAFinishedAgendasPodsAreCleanedUpOnce(t *testing.T) {
	ag := admittedAgenda("tidy", "echo")
	ag.Spec.PodCleanup = popv1.DeleteAll
	w := newWritesWorld(t, ag)
	w.reconcile(t) // starts the Pod
	succeedAll(t, w.c)
	w.keepOnDeletion = true

	w.reconcile(t) // the end, then the cleanup
	w.reconcile(t)
	w.reconcile(t)

	if w.deleteAllOfs != 1 {
		t.Errorf("%d Pod collection deletes for one end, want 1", w.deleteAllOfs)
	}
}

func succeedAll(t *testing.T, c client.Client) {
	t.Helper()
	var pods corev1.PodList
	if err := c.List(context.Background(), &pods); err != nil || len(pods.Items) == 0 {
		t.Fatalf("listing Pods: %v, %d found", err, len(pods.Items))
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		p.Status.Phase = corev1.PodSucceeded
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "handler", State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{Message: `"done"`}}}}
		if err := c.Status().Update(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
}
