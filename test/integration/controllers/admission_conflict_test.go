package controllers_test

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/podsim"
)

// refuseFirstAdmission makes the API server's answer to the scheduler's first admission
// of one Agenda a Conflict, as when the Agenda controller wrote its status a moment earlier.
func refuseFirstAdmission(ns, name string, refused *atomic.Bool) func(client.Client) client.Client {
	return func(c client.Client) client.Client {
		return interceptor.NewClient(c.(client.WithWatch), interceptor.Funcs{
			SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
				if obj.GetNamespace() == ns && obj.GetName() == name && isAdmission(p, obj) && refused.CompareAndSwap(false, true) {
					return apierrors.NewConflict(schema.GroupResource{Group: popv1.GroupVersion.Group, Resource: "agendas"}, name,
						errFromTest("the object has been modified"))
				}
				return c.SubResource(sub).Patch(ctx, obj, p, opts...)
			},
		})
	}
}

func isAdmission(p client.Patch, obj client.Object) bool {
	data, err := p.Data(obj)
	return err == nil && strings.Contains(string(data), `"admissionTime"`)
}

type errFromTest string

func (e errFromTest) Error() string { return string(e) }

var _ = Describe("Admission refused by a Conflict", func() {
	It("keeps the Agenda's place: the next one is not admitted ahead of it", func() {
		ns := newNamespace("conflict")
		sim.SetScript(podsim.EchoAfter(500 * time.Millisecond))
		var refused atomic.Bool
		stopManager()
		stopManager = startManager(refuseFirstAdmission(ns, "first", &refused))
		defer func() {
			stopManager()
			stopManager = startManager()
			sim.SetScript(podsim.Echo)
		}()

		Expect(env.Client.Create(ctx, localInsight("serial", ns).Obj())).To(Succeed())
		names := []string{"first", "second"}
		for _, n := range names {
			Expect(env.Client.Create(ctx, oneOp(n, ns).Obj())).To(Succeed())
		}
		for _, n := range names {
			waitForPhase(oneOp(n, ns).Obj(), popv1.PhaseSucceeded)
		}
		Expect(refused.Load()).To(BeTrue(), "the test never refused an admission")
		Expect(startOrder(ns)).To(Equal(names))
	})
})
