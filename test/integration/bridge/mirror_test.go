package bridge_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
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

	// Issue 11, item 12: the record went with the Agenda, and with it the idempotency key.
	It("keeps a bridged Agenda's agendaId taken after ttlSecondsAfterFinished deletes it: a resend does not run again", func() {
		id, ns := customer("tomb", 5)
		send(popAgenda(id, "once"))
		name := bridge.AgendaName(id, "once")
		Eventually(func(g Gomega) {
			r := recordOf(g, id, "once")
			g.Expect(r).NotTo(BeNil())
			g.Expect(r.State).To(Equal(string(popv1.PhaseSucceeded)))
		}, framework.Timeout, framework.Interval).Should(Succeed())

		By("letting the Agenda's ttlSecondsAfterFinished delete it")
		var ag popv1.Agenda
		Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &ag)).To(Succeed())
		patch := client.MergeFrom(ag.DeepCopy())
		ag.Spec.TTLSecondsAfterFinished = ptr.To[int32](0)
		Expect(env.Client.Patch(ctx, &ag, patch)).To(Succeed())
		Eventually(func(g Gomega) []popv1.Agenda { return agendasIn(g, ns) }, framework.Timeout).Should(BeEmpty())
		deletedAt := time.Now()

		By("resending the same agendaId")
		send(popAgenda(id, "once"))
		Eventually(func(g Gomega) int { return queueDepth(g, queues.IntakeQueueURL) }, framework.Timeout).Should(BeZero())
		Consistently(func(g Gomega) []popv1.Agenda { return agendasIn(g, ns) }, 2*time.Second).Should(BeEmpty(), "the resent agendaId ran again")

		r := recordOf(Default, id, "once")
		Expect(r).NotTo(BeNil(), "the record went with the Agenda")
		Expect(r.DeletedAt).NotTo(BeEmpty())
		Expect(r.State).To(Equal(string(popv1.PhaseSucceeded)), "the tombstone keeps the final state")
		retention := baseConfig.TombstoneRetention
		Expect(time.Unix(r.ExpiresAt, 0)).To(BeTemporally("~", deletedAt.Add(retention), time.Minute))
	})

	It("keeps a live tombstone against every later write: a newer record, another tombstone, a delete", func() {
		now := time.Now()
		tomb := bridge.Record{CustomerID: "tomb-store", AgendaID: "k", Version: 10, State: string(popv1.PhaseSucceeded),
			UpdatedAt: now.UTC().Format(time.RFC3339), DeletedAt: now.UTC().Format(time.RFC3339), ExpiresAt: now.Add(time.Hour).Unix()}
		Expect(store.PutTombstone(ctx, tomb)).To(Succeed())
		_, err := store.Put(ctx, bridge.Record{CustomerID: "tomb-store", AgendaID: "k", Version: 99, State: string(popv1.PhasePending),
			UpdatedAt: now.UTC().Format(time.RFC3339)})
		Expect(err).To(MatchError(bridge.ErrTombstoned))
		second := tomb
		second.Version, second.State, second.ExpiresAt = 100, bridge.StateDeleted, now.Add(48*time.Hour).Unix()
		Expect(store.PutTombstone(ctx, second)).To(Succeed())
		Expect(store.Delete(ctx, "tomb-store", "k", "")).To(Succeed())
		r := recordOf(Default, "tomb-store", "k")
		Expect(r).NotTo(BeNil(), "a delete removed a live tombstone")
		Expect(r.Version).To(Equal(uint64(10)))
		Expect(r.State).To(Equal(string(popv1.PhaseSucceeded)))
		Expect(r.ExpiresAt).To(Equal(tomb.ExpiresAt))
		taken, err := store.Tombstoned(ctx, "tomb-store", "k")
		Expect(err).NotTo(HaveOccurred())
		Expect(taken).To(BeTrue())
	})

	It("frees an agendaId once its tombstone's retention has passed", func() {
		id, ns := customer("tomb-old", 5)
		past := time.Now().Add(-time.Hour)
		item, err := attributevalue.MarshalMap(bridge.Record{CustomerID: id, AgendaID: "again", Version: 1, State: string(popv1.PhaseSucceeded),
			UpdatedAt: past.UTC().Format(time.RFC3339), DeletedAt: past.UTC().Format(time.RFC3339), ExpiresAt: past.Unix()})
		Expect(err).NotTo(HaveOccurred())
		_, err = aws.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: awssdk.String(store.Table), Item: item})
		Expect(err).NotTo(HaveOccurred())
		send(popAgenda(id, "again"))
		Eventually(func(g Gomega) {
			list := agendasIn(g, ns)
			g.Expect(list).To(HaveLen(1))
			g.Expect(list[0].Status.Phase).To(Equal(popv1.PhaseSucceeded))
			r := recordOf(g, id, "again")
			g.Expect(r.State).To(Equal(string(popv1.PhaseSucceeded)))
			g.Expect(r.DeletedAt).To(BeEmpty())
		}, framework.Timeout, framework.Interval).Should(Succeed())
	})

	// Issue 11, item 15: the record listed every operation, and passed DynamoDB's item limit.
	It("writes the record of an Agenda whose operations would pass DynamoDB's 400 KB item limit", func() {
		ag := builders.MakeAgenda("big", "big-ns").Obj()
		ag.ResourceVersion = "7"
		for i := range popv1.MaxOperations {
			name := fmt.Sprintf("operation-%04d", i)
			ag.Spec.Operations = append(ag.Spec.Operations, popv1.Operation{Name: name, Type: "echo"})
			ag.Status.Operations = append(ag.Status.Operations, popv1.OperationStatus{Name: name, State: popv1.OperationFailed,
				Attempts: 3, Message: strings.Repeat("x", 1024)})
		}
		ag.Status.Phase = popv1.PhaseFailed
		written, err := store.Put(ctx, bridge.RecordOf(ag, "big", time.Now(), 0))
		Expect(err).NotTo(HaveOccurred())
		Expect(written).To(BeTrue())
		r := recordOf(Default, "big", "big")
		Expect(r.State).To(Equal(string(popv1.PhaseFailed)))
		Expect(r.OperationsTotal).To(Equal(popv1.MaxOperations))
		Expect(r.OperationCounts).To(HaveKeyWithValue(string(popv1.OperationFailed), popv1.MaxOperations))
		Expect(len(r.Operations)).To(BeNumerically("<", popv1.MaxOperations))

		By("DynamoDB Local does refuse an item past the limit: the bound is what makes the write pass")
		full := bridge.RecordOf(ag, "big", time.Now(), 0)
		full.AgendaID, full.Operations = "unbounded", nil
		for _, o := range ag.Status.Operations {
			full.Operations = append(full.Operations, bridge.OperationRecord{Name: o.Name, State: string(o.State), Message: o.Message})
		}
		_, err = store.Put(ctx, full)
		Expect(err).To(MatchError(ContainSubstring("size")))
	})
})
