package controllers_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/scheduler"
	"github.com/pop-operator/pop/test/framework"
)

// queueBacklog starts recording admissions, creates n single-op Agendas one after another in
// a paused Insight of the given capacity, waits until all are queued and unpauses. (The
// watch starts before the Agendas exist, so it carries no initial list of them.)
func queueBacklog(ns string, n int, capacity int32) (*admissionRecorder, []string) {
	GinkgoHelper()
	admissions := recordAdmissions(ns)
	ins := localInsight("pipe", ns).Capacity(capacity).Paused(true).Obj()
	Expect(env.Client.Create(ctx, ins)).To(Succeed())
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("ag-%03d", i)
		Expect(env.Client.Create(ctx, oneOp(names[i], ns).Obj())).To(Succeed())
	}
	Eventually(func(g Gomega) int32 {
		var cur popv1.Insight
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ins), &cur)).To(Succeed())
		return cur.Status.Pending
	}, 2*time.Minute, framework.Interval).Should(Equal(int32(n)))
	setInsight(client.ObjectKeyFromObject(ins), func(s *popv1.InsightSpec) { s.Paused = false })
	return admissions, names
}

// replay walks the admissions and ends of ns in etcd's order; it returns the most running
// at once and the Agendas in their order of admission.
func replay(seq []admissionEvent, ns string) (most int, order []string) {
	running := 0
	for _, ev := range seq {
		if len(ev.key) <= len(ns) || ev.key[:len(ns)+1] != ns+"/" {
			continue
		}
		if ev.ended {
			running--
			continue
		}
		running++
		most = max(most, running)
		order = append(order, ev.key[len(ns)+1:])
	}
	return most, order
}

// progress says how far a drain got, for a failure message.
func progress(admissions *admissionRecorder, ns string) string {
	most, order := replay(admissions.sequence(), ns)
	var ins popv1.InsightList
	_ = env.Client.List(ctx, &ins, client.InNamespace(ns))
	status := ""
	for _, i := range ins.Items {
		status = fmt.Sprintf("Insight %s: pending %d, admitted %d, paused %v", i.Name, i.Status.Pending, i.Status.Admitted, i.Spec.Paused)
	}
	var ags popv1.AgendaList
	_ = env.Client.List(ctx, &ags, client.InNamespace(ns))
	phases := map[popv1.AgendaPhase]int{}
	sample := ""
	for i := range ags.Items {
		phases[ags.Items[i].Status.Phase]++
		if i == 0 {
			sample = fmt.Sprintf("%s: %+v", ags.Items[i].Name, ags.Items[i].Status.Conditions)
		}
	}
	return fmt.Sprintf("%d admitted, %d ended, most running %d; %s; Agendas by phase %v; %s; %s", len(order),
		admissions.endedIn(map[string]string{"": ns}), most, status, phases, admissions.state(), sample)
}

// overtaken returns the admissions written (in etcd's order) after an Agenda at least
// window places behind them in the queue: what pipelined writes must never do.
func overtaken(order []string, rank map[string]int, window int) []string {
	var bad []string
	lowest := len(rank) // the lowest rank admitted from here to the end
	for i := len(order) - 1; i >= 0; i-- {
		r := rank[order[i]]
		if r >= lowest+window {
			bad = append(bad, fmt.Sprintf("%s (rank %d) after rank %d", order[i], r, lowest))
		}
		lowest = min(lowest, r)
	}
	return bad
}

var _ = Describe("Pipelined admission writes", func() {
	It("drains 300 pending through capacity 50: never over capacity, in FIFO order within the writes in flight", func() {
		ns := newNamespace("pipe")
		admissions, names := queueBacklog(ns, 300, 50)
		Eventually(func() int { return admissions.endedIn(map[string]string{"": ns}) }, 3*time.Minute, 50*time.Millisecond).
			Should(Equal(300), func() string { return progress(admissions, ns) })

		most, order := replay(admissions.sequence(), ns)
		GinkgoWriter.Printf("most running at once: %d of 50; first admissions: %v\n", most, order[:10])
		Expect(most).To(BeNumerically("<=", 50), "over capacity in etcd's order")
		Expect(order).To(HaveLen(300))
		rank := map[string]int{}
		for i, n := range names {
			rank[n] = i
		}
		// A write is answered before the decision DefaultAdmissionWrites places later is
		// made, so no admission lands after one that many places behind it.
		Expect(overtaken(order, rank, scheduler.DefaultAdmissionWrites)).To(BeEmpty())
	})

	It("refuses some admission writes (Conflict, 403): nothing over capacity, no Agenda lost or run twice", func() {
		ns := newNamespace("piperefuse")
		var attempts, refused atomic.Int64
		stopManager()
		stopManager = startManager(refuseSomeAdmissions(ns, &attempts, &refused))
		defer func() {
			stopManager()
			stopManager = startManager()
		}()
		admissions, _ := queueBacklog(ns, 120, 20)
		Eventually(func() int { return admissions.endedIn(map[string]string{"": ns}) }, 3*time.Minute, 50*time.Millisecond).
			Should(Equal(120), func() string { return progress(admissions, ns) })
		Expect(refused.Load()).To(BeNumerically(">", 10), "the test refused too few admissions")

		most, order := replay(admissions.sequence(), ns)
		GinkgoWriter.Printf("%d admission writes, %d refused; most running at once: %d of 20\n", attempts.Load(), refused.Load(), most)
		Expect(most).To(BeNumerically("<=", 20), "over capacity in etcd's order")
		Expect(order).To(HaveLen(120))
		waitAllSucceeded(ns, time.Minute)
		_, others := startedPods(ns)
		Expect(others).To(BeEmpty(), "an Agenda ran twice")
	})
})

// refuseSomeAdmissions answers every third admission write of ns with a Conflict and every
// seventh with a 403, in place of the API server.
func refuseSomeAdmissions(ns string, attempts, refused *atomic.Int64) func(client.Client) client.Client {
	gr := schema.GroupResource{Group: popv1.GroupVersion.Group, Resource: "agendas"}
	return func(c client.Client) client.Client {
		return interceptor.NewClient(c.(client.WithWatch), interceptor.Funcs{
			SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
				if obj.GetNamespace() == ns && isAdmission(p, obj) {
					switch n := attempts.Add(1); {
					case n%3 == 0:
						refused.Add(1)
						return apierrors.NewConflict(gr, obj.GetName(), errFromTest("the object has been modified"))
					case n%7 == 0:
						refused.Add(1)
						return apierrors.NewForbidden(gr, obj.GetName(), errFromTest("denied by the test"))
					}
				}
				return c.SubResource(sub).Patch(ctx, obj, p, opts...)
			},
		})
	}
}
