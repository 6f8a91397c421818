package controllers

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

// TestWrittenIsForgottenWithTheAgenda: the resourceVersion remembered after a status write
// goes when the Agenda is gone, so that the map does not grow with every Agenda ever run.
func TestWrittenIsForgottenWithTheAgenda(t *testing.T) {
	ctx := context.Background()
	// An invalid Agenda (it depends on itself) is the shortest path to a status write.
	ag := builders.MakeAgenda("job", "acme").Op("a", "echo").DependsOn("a").Obj()
	c := fake.NewClientBuilder().WithScheme(framework.Scheme()).WithObjects(ag).WithStatusSubresource(&popv1.Agenda{}).Build()
	r := &AgendaReconciler{Client: c, APIReader: c, Recorder: events.NewFakeRecorder(10), Clock: clock.RealClock{}}
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(ag)}

	if _, err := r.Reconcile(ctx, req); err != nil {
		t.Fatal(err)
	}
	if n := rememberedWrites(r); n != 1 {
		t.Fatalf("after the status write: %d remembered writes, want 1", n)
	}
	if err := c.Delete(ctx, &popv1.Agenda{ObjectMeta: metav1.ObjectMeta{Name: "job", Namespace: "acme"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reconcile(ctx, req); err != nil {
		t.Fatal(err)
	}
	if n := rememberedWrites(r); n != 0 {
		t.Errorf("after the Agenda was deleted: %d remembered writes, want 0", n)
	}
}

func rememberedWrites(r *AgendaReconciler) int {
	n := 0
	r.written.Range(func(any, any) bool { n++; return true })
	return n
}
