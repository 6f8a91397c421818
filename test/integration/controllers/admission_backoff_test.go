package controllers_test

import (
	"context"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

// refuseAdmissions answers the scheduler's admissions of one Agenda with err while refusing
// is set, counting them, as a policy or an outage would.
func refuseAdmissions(ns, name string, err error, refusing *atomic.Bool, attempts *atomic.Int32) func(client.Client) client.Client {
	return func(c client.Client) client.Client {
		return interceptor.NewClient(c.(client.WithWatch), interceptor.Funcs{
			SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
				if obj.GetNamespace() == ns && obj.GetName() == name && isAdmission(p, obj) {
					attempts.Add(1)
					if refusing.Load() {
						return err
					}
				}
				return c.SubResource(sub).Patch(ctx, obj, p, opts...)
			},
		})
	}
}

var _ = Describe("Admission refused for a while", func() {
	agendas := schema.GroupResource{Group: popv1.GroupVersion.Group, Resource: "agendas"}
	DescribeTable("backs off, and admits the Agenda once the refusals end",
		func(err error, holdsQueue bool) {
			ns := newNamespace("refused")
			var refusing atomic.Bool
			var attempts atomic.Int32
			refusing.Store(true)
			stopManager()
			stopManager = startManager(refuseAdmissions(ns, "first", err, &refusing, &attempts))
			defer func() {
				stopManager()
				stopManager = startManager()
				sim.SetScript(podsim.Echo)
			}()

			Expect(env.Client.Create(ctx, localInsight("serial", ns).Obj())).To(Succeed())
			first, second := oneOp("first", ns).Obj(), oneOp("second", ns).Obj()
			Expect(env.Client.Create(ctx, first)).To(Succeed())
			Eventually(attempts.Load, framework.Timeout, framework.Interval).ShouldNot(BeZero())
			Expect(env.Client.Create(ctx, second)).To(Succeed())
			time.Sleep(5 * time.Second)
			n := attempts.Load()
			GinkgoWriter.Printf("%d admission attempts in about 5 s of refusals\n", n)
			// 100 ms doubling: about 6 in 5 s. The old hot loop made thousands.
			Expect(n).To(BeNumerically("<=", 10), "admission retried in a loop")
			if holdsQueue {
				Expect(getAgenda(Default, second).Status.Phase).To(Equal(popv1.PhaseQueued), "second overtook a refused head")
			} else {
				waitForPhase(second, popv1.PhaseSucceeded) // not frozen behind a refusal for good
			}

			refusing.Store(false)
			waitForPhase(first, popv1.PhaseSucceeded)
			waitForPhase(second, popv1.PhaseSucceeded)
			if holdsQueue {
				Expect(startOrder(ns)).To(Equal([]string{"first", "second"}))
			}
		},
		Entry("forbidden by a policy (403)", apierrors.NewForbidden(agendas, "first", errFromTest("denied by policy")), false),
		Entry("the API server unavailable (503)", apierrors.NewServiceUnavailable("etcd is down"), true),
	)
})
