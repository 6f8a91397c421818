package bridge_test

import (
	"math/rand/v2"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/bridge"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

var _ = Describe("DynamoDB status mirror", func() {
	It("never lets an older version overwrite a newer one, whatever the order of writes", func() {
		put := func(version uint64, state string) bool {
			written, err := store.Put(ctx, bridge.Record{CustomerID: "order", AgendaID: "a", Version: version, State: state,
				UpdatedAt: time.Now().UTC().Format(time.RFC3339)})
			Expect(err).NotTo(HaveOccurred())
			return written
		}
		Expect(put(10, "Running")).To(BeTrue())
		Expect(put(5, "Pending")).To(BeFalse(), "an older version was written over a newer one")
		Expect(put(10, "Queued")).To(BeFalse(), "the same version was written twice")
		r := recordOf(Default, "order", "a")
		Expect(r.Version).To(Equal(uint64(10)))
		Expect(r.State).To(Equal("Running"))

		By("40 writers racing with versions in random order")
		versions := rand.Perm(40)
		var wg sync.WaitGroup
		for _, v := range versions {
			wg.Add(1)
			go func() {
				defer GinkgoRecover()
				defer wg.Done()
				put(uint64(100+v), "Succeeded")
			}()
		}
		wg.Wait()
		Expect(recordOf(Default, "order", "a").Version).To(Equal(uint64(139)))
	})

	It("mirrors an Agenda made with kubectl, and deletes its record when the Agenda is deleted", func() {
		id, ns := customer("kubectl", 5)
		ag := builders.MakeAgenda("by-hand", ns).Op("only", "echo", "hello").Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		Eventually(func(g Gomega) {
			r := recordOf(g, id, "by-hand")
			g.Expect(r).NotTo(BeNil())
			g.Expect(r.State).To(Equal(string(popv1.PhaseSucceeded)))
			g.Expect(r.Source).To(Equal("kubernetes"))
			g.Expect(r.Namespace).To(Equal(ns))
		}, framework.Timeout, framework.Interval).Should(Succeed())

		var cur popv1.Agenda
		Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ag), &cur)).To(Succeed())
		Expect(cur.Finalizers).To(ContainElement(bridge.MirrorFinalizer))
		Expect(env.Client.Delete(ctx, &cur)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(recordOf(g, id, "by-hand")).To(BeNil())
			err := env.Client.Get(ctx, client.ObjectKeyFromObject(ag), &cur)
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the Agenda is still there: %v", err)
		}, framework.Timeout, framework.Interval).Should(Succeed())
	})

	It("deletes a bridged Agenda's record with the Agenda", func() {
		id, ns := customer("gone", 5)
		send(popAgenda(id, "short-lived"))
		Eventually(func(g Gomega) {
			r := recordOf(g, id, "short-lived")
			g.Expect(r).NotTo(BeNil())
			g.Expect(r.State).To(Equal(string(popv1.PhaseSucceeded)))
		}, framework.Timeout, framework.Interval).Should(Succeed())
		deleteAgendas(ns)
		Eventually(func(g Gomega) *bridge.Record { return recordOf(g, id, "short-lived") }, framework.Timeout).Should(BeNil())
	})
})
