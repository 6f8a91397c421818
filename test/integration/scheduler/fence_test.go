package scheduler_test

import (
	"bytes"
	"context"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/scheduler"
	"github.com/pop-operator/pop/test/builders"
)

// leaseSeconds is the test lease's duration: short, so that a handover takes seconds.
const leaseSeconds = 3

// lease is a leader Lease the spec renews for its holder, as the holder's leader elector
// would, and hands over when told.
type lease struct {
	key    types.NamespacedName
	mu     sync.Mutex
	holder string
}

func newLease(ns, holder string) *lease {
	GinkgoHelper()
	l := &lease{key: types.NamespacedName{Namespace: ns, Name: "pop-leader"}, holder: holder}
	Expect(env.Client.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: l.key.Name, Namespace: ns},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(holder), LeaseDurationSeconds: ptr.To(int32(leaseSeconds)),
			RenewTime: &metav1.MicroTime{Time: time.Now()}}})).To(Succeed())
	return l
}

// renew keeps renewing for the current holder until ctx ends; "" renews nobody.
func (l *lease) renew(ctx context.Context) {
	for ctx.Err() == nil {
		l.mu.Lock()
		holder := l.holder
		l.mu.Unlock()
		if holder != "" {
			l.write(holder, false)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// stall stops renewing: the holder hangs.
func (l *lease) stall() { l.mu.Lock(); l.holder = ""; l.mu.Unlock() }

// handOver waits out the stalled lease, then takes it for holder, as a candidate would.
func (l *lease) handOver(holder string) {
	GinkgoHelper()
	var cur coordinationv1.Lease
	Expect(env.Client.Get(ctx, l.key, &cur)).To(Succeed())
	time.Sleep(time.Until(cur.Spec.RenewTime.Add(leaseSeconds * time.Second)))
	l.write(holder, true)
	l.mu.Lock()
	l.holder = holder
	l.mu.Unlock()
}

func (l *lease) write(holder string, transition bool) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		var cur coordinationv1.Lease
		g.Expect(env.Client.Get(ctx, l.key, &cur)).To(Succeed())
		cur.Spec.HolderIdentity, cur.Spec.RenewTime = ptr.To(holder), &metav1.MicroTime{Time: time.Now()}
		if transition {
			cur.Spec.LeaseTransitions = ptr.To(ptr.Deref(cur.Spec.LeaseTransitions, 0) + 1)
		}
		g.Expect(env.Client.Update(ctx, &cur)).To(Succeed())
	}, timeout).Should(Succeed())
}

func (l *lease) fence(identity string) scheduler.Fence {
	return scheduler.LeaseFence{Reader: env.Client, Lease: l.key, Identity: identity, Margin: 500 * time.Millisecond}
}

// gate holds a scheduler's admission writes while closed: a write in flight.
type gate struct {
	client.Client
	mu      sync.Mutex
	closed  bool
	open    chan struct{}
	waiting chan struct{}
}

func newGate(c client.Client) *gate {
	return &gate{Client: c, open: make(chan struct{}), waiting: make(chan struct{}, 16)}
}

func (g *gate) close() { g.mu.Lock(); g.closed = true; g.mu.Unlock() }

// release lets held writes go; again, it does nothing (a failed spec's cleanup calls it,
// so that its scheduler can stop).
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open != nil {
		g.closed = false
		close(g.open)
		g.open = nil
	}
}

func (g *gate) Status() client.SubResourceWriter {
	return gatedStatus{SubResourceWriter: g.Client.Status(), g: g}
}

type gatedStatus struct {
	client.SubResourceWriter
	g *gate
}

func (s gatedStatus) Patch(ctx context.Context, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
	if _, ok := obj.(*popv1.Agenda); ok {
		body, err := p.Data(obj)
		s.g.mu.Lock()
		held := s.g.closed && err == nil && bytes.Contains(body, []byte(`"admissionTime"`))
		open := s.g.open
		s.g.mu.Unlock()
		if held && open != nil {
			s.g.waiting <- struct{}{}
			<-open
		}
	}
	return s.SubResourceWriter.Patch(ctx, obj, p, opts...)
}

var _ = Describe("Leader handover", func() {
	It("lets no admission of a deposed leader land after its successor rebuilt its state", func() {
		ns, err := env.CreateNamespace(ctx, "handover", map[string]string{popv1.CustomerLabel: "acme"})
		Expect(err).NotTo(HaveOccurred())
		ins := builders.MakeInsight("serial", ns).Algorithm(popv1.Priority).Capacity(1).Obj()
		ins.Spec.NamespaceSelector = nil
		Expect(env.Client.Create(ctx, ins)).To(Succeed())
		log := watchAdmissions(ns)
		defer log.stop()
		l := newLease(ns, "a")
		rctx, stopRenewing := context.WithCancel(ctx)
		defer stopRenewing()
		go l.renew(rctx)

		By("a leads: admits first, queues low behind it")
		var a *gate
		stopA := startScheduler(l.fence("a"), func(c client.Client) client.Client { a = newGate(c); return a })
		defer stopA()
		defer a.release()
		first := newAgenda("first", ns, 0)
		waitFor(first, isAdmitted)
		low := newAgenda("low", ns, 0)
		waitFor(low, func(ag *popv1.Agenda) bool { return ag.Status.QueuePosition != nil })

		By("a decides to admit low, and stalls with the write in flight")
		a.close()
		finish(first)
		Eventually(a.waiting, timeout).Should(Receive())
		l.stall()

		By("b takes the lease, rebuilds, and admits high, which outranks low")
		l.handOver("b")
		high := newAgenda("high", ns, 10)
		stopB := startScheduler(l.fence("b"), nil)
		defer stopB()
		waitFor(high, isAdmitted)
		Expect(get(low).Status.QueuePosition).To(HaveValue(BeEquivalentTo(1)), "low waits first in line")

		By("a's write goes out late")
		a.release()
		Consistently(func() bool { return isAdmitted(get(low)) }, 3*time.Second).Should(BeFalse(), "the deposed leader admitted low: %s", log)
		log.check(1)
	})
})

// waitFor waits until the Agenda, read from the API server, satisfies ok.
func waitFor(ag *popv1.Agenda, ok func(*popv1.Agenda) bool) {
	GinkgoHelper()
	Eventually(func() bool { return ok(get(ag)) }, timeout).Should(BeTrue(), "%s/%s", ag.Namespace, ag.Name)
}

func get(ag *popv1.Agenda) *popv1.Agenda {
	GinkgoHelper()
	var cur popv1.Agenda
	Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ag), &cur)).To(Succeed())
	return &cur
}
