package controllers_test

import (
	"context"
	"fmt"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/podsim"
)

// writeCounter counts the API writes a manager's client makes in one namespace.
type writeCounter struct {
	mu        sync.Mutex
	namespace string
	byKind    map[string]int
}

func (w *writeCounter) count(verb string, obj client.Object) {
	// Count what concerns the Agenda: its status and its Pods, not other kinds' status.
	if _, ok := obj.(*popv1.HandlerType); ok || obj.GetNamespace() != w.namespace {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.byKind[fmt.Sprintf("%s %T", verb, obj)]++
}

func (w *writeCounter) total() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, c := range w.byKind {
		n += c
	}
	return n
}

func (w *writeCounter) wrap(c client.Client) client.Client {
	return interceptor.NewClient(c.(client.WithWatch), interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			w.count("create", obj)
			return c.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			w.count("update", obj)
			return c.Update(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
			w.count("patch", obj)
			return c.Patch(ctx, obj, p, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			w.count("delete", obj)
			return c.Delete(ctx, obj, opts...)
		},
		DeleteAllOf: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteAllOfOption) error {
			o := &client.DeleteAllOfOptions{}
			o.ApplyOptions(opts)
			if o.Namespace == w.namespace {
				w.mu.Lock()
				w.byKind["deletecollection"]++
				w.mu.Unlock()
			}
			return c.DeleteAllOf(ctx, obj, opts...)
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			w.count("update/"+sub, obj)
			return c.SubResource(sub).Update(ctx, obj, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
			w.count("patch/"+sub, obj)
			return c.SubResource(sub).Patch(ctx, obj, p, opts...)
		},
	})
}

var _ = Describe("API writes", func() {
	It("stay at or below 3 per operation in a simple chain", func() {
		const chain = 10
		ns := newNamespace("writes")
		sim.SetScript(podsim.Echo)
		counter := &writeCounter{namespace: ns, byKind: map[string]int{}}
		stopManager()
		stopManager = startManager(counter.wrap)

		w := builders.MakeAgenda("chain", ns).Op("op0", "echo", 0)
		for i := 1; i < chain; i++ {
			w.Op(fmt.Sprintf("op%d", i), "echo", fmt.Sprintf("@<op%d.out>", i-1))
		}
		ag := w.Obj()
		createAndAdmit(ag)
		waitForPhase(ag, popv1.PhaseSucceeded)

		perOp := float64(counter.total()) / chain
		AddReportEntry("API writes per operation", fmt.Sprintf("%.2f (%v)", perOp, counter.byKind))
		GinkgoWriter.Printf("API writes for a %d-operation chain: %d (%.2f per operation): %v\n", chain, counter.total(), perOp, counter.byKind)
		Expect(perOp).To(BeNumerically("<=", 3.0))
	})
})
