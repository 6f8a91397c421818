package bridge_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/controllers"
	"github.com/pop-operator/pop/internal/bridge"
	"github.com/pop-operator/pop/internal/popctl"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

// center is one cluster running POP with its bridge: its control plane, the customer's
// namespace there, and its manager while it runs.
type center struct {
	name string
	env  *framework.Env
	ns   string
	cfg  bridge.Config
	stop context.CancelFunc
}

func (c *center) start() {
	GinkgoHelper()
	mgr, err := ctrl.NewManager(c.env.Config, framework.ManagerOptions())
	Expect(err).NotTo(HaveOccurred())
	parts, err := controllers.Setup(mgr, controllers.Options{MaxConcurrentReconciles: 4, OperatorNamespace: "pop-system"})
	Expect(err).NotTo(HaveOccurred())
	Expect(bridge.Setup(ctx, mgr, c.cfg, 4)).To(Succeed())
	c.stop, err = framework.RunManager(ctx, mgr, parts.Scheduler.Ready(), func(err error) { Fail(err.Error()) })
	Expect(err).NotTo(HaveOccurred())
}

// kill stops the center's manager: its bridge neither receives nor renews its claims.
func (c *center) kill() {
	if c.stop != nil {
		c.stop()
		c.stop = nil
	}
}

// agendas are the center's Agendas of the customer, by agendaId.
func (c *center) agendas(g Gomega) map[string]popv1.Agenda {
	var list popv1.AgendaList
	g.Expect(c.env.Client.List(ctx, &list, client.InNamespace(c.ns))).To(Succeed())
	out := map[string]popv1.Agenda{}
	for _, a := range list.Items {
		out[bridge.AgendaIDOf(&a)] = a
	}
	return out
}

// onboardIn makes the customer known in a center: its labelled namespace, its signing key,
// an echo HandlerType and an Insight.
func onboardIn(e *framework.Env, id string, key []byte, paused bool) string {
	GinkgoHelper()
	ns, err := e.CreateNamespace(ctx, "centers", map[string]string{popv1.CustomerLabel: id})
	Expect(err).NotTo(HaveOccurred())
	Expect(e.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: bridge.SigningSecret, Namespace: ns},
		Data: map[string][]byte{bridge.SigningKey: key}})).To(Succeed())
	Expect(e.Client.Create(ctx, builders.MakeHandlerType("echo", ns, "pop-handlers/echo:dev").Obj())).To(Succeed())
	ins := builders.MakeInsight("local", ns).Capacity(50).Paused(paused).Obj()
	ins.Spec.NamespaceSelector = nil
	Expect(e.Client.Create(ctx, ins)).To(Succeed())
	return ns
}

// Two centers: the suite's control plane is "east", a second one started here is "west".
// They share one signed intake queue, the dead-letter queue and the table. The suite's own
// manager is stopped meanwhile (it would mirror east's Agendas as a third center).
var _ = Describe("Centers sharing one intake", Ordered, func() {
	var east, west *center
	var id, queue string
	var westSim *podsim.Simulator

	BeforeAll(func() {
		stopManager()
		DeferCleanup(func() { stopManager = startManager(baseConfig) })
		env2, err := framework.Start()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(env2.Stop()).To(Succeed()) })
		sctx, stopSim := context.WithCancel(ctx)
		DeferCleanup(stopSim)
		westSim = podsim.New(env2.Client)
		go westSim.Run(sctx)

		id = fmt.Sprintf("centers-%d", customers.Add(1))
		key := []byte("key-of-" + id)
		signingKeys.Store(id, key)
		p, err := bridge.Provision(ctx, aws, bridge.Resources{IntakeQueue: baseConfig.Table + "-centers", DeadLetterQueue: baseConfig.Table + "-dlq", Table: baseConfig.Table})
		Expect(err).NotTo(HaveOccurred())
		queue = p.IntakeQueueURL
		cfg := baseConfig
		cfg.IntakeQueues, cfg.CustomerQueues = []string{queue}, nil
		cfg.ClaimLease = time.Minute // no lease lapses on a busy machine, but in the takeover spec
		cfg.MaxPending, cfg.MaxPendingPerCustomer = 50, 50
		east = &center{name: "east", env: env, ns: onboardIn(env, id, key, false), cfg: cfg}
		west = &center{name: "west", env: env2, ns: onboardIn(env2, id, key, false), cfg: cfg}
		east.cfg.Center, west.cfg.Center = "east", "west"
		DeferCleanup(func() { west.kill(); east.kill() })
		DeferCleanup(func() { // east's mirror lets its Agendas go (its finalizer)
			east.start()
			deleteAgendas(east.ns)
			east.kill()
		})
	})

	sendSigned := func(agendaID string) { sendTo(queue, popAgenda(id, agendaID), signedBy(popAgenda(id, agendaID))) }

	It("drops a message on the other center once one center claimed its agendaId", func() {
		east.start()
		sendSigned("first-east")
		Eventually(func(g Gomega) {
			g.Expect(east.agendas(g)).To(HaveKey("first-east"))
			r := recordOf(g, id, "first-east")
			g.Expect(r).NotTo(BeNil())
			g.Expect(r.Center).To(Equal("east"))
			g.Expect(r.State).To(Equal(string(popv1.PhaseSucceeded)))
			g.Expect(queueDepth(g, queue)).To(BeZero())
		}, framework.Timeout, framework.Interval).Should(Succeed())
		By("popctl bridge centers lists east from its heartbeat")
		var out bytes.Buffer
		root := popctl.NewRoot(&out, GinkgoWriter)
		root.SetArgs([]string{"bridge", "centers", "--table", baseConfig.Table, "--dynamodb-endpoint", baseConfig.DynamoDBEndpoint})
		Expect(root.ExecuteContext(ctx)).To(Succeed())
		Expect(out.String()).To(MatchRegexp(`(?m)^east\s+\S+\s+50\s+\d+\s+1\s+-\s+-\s+-$`), "east pulls by --bridge-max-pending alone: no capacity-aware figures")
		east.kill()

		By("the same message again, received by west only")
		west.start()
		sendSigned("first-east")
		Eventually(func(g Gomega) int { return queueDepth(g, queue) }, framework.Timeout, framework.Interval).Should(BeZero())
		Consistently(func(g Gomega) {
			g.Expect(west.agendas(g)).NotTo(HaveKey("first-east"))
			g.Expect(recordOf(g, id, "first-east").Center).To(Equal("east"))
		}, 2*time.Second, 200*time.Millisecond).Should(Succeed())
		west.kill()
	})

	It("runs every Agenda in exactly one center when both receive every message twice", func() {
		east.start()
		west.start()
		const n = 30
		for k := range n {
			sendSigned(fmt.Sprintf("both-%d", k))
			sendSigned(fmt.Sprintf("both-%d", k))
		}
		Eventually(func(g Gomega) {
			g.Expect(queueDepth(g, queue)).To(BeZero())
			e, w := east.agendas(g), west.agendas(g)
			for k := range n {
				agendaID := fmt.Sprintf("both-%d", k)
				_, inEast := e[agendaID]
				_, inWest := w[agendaID]
				g.Expect(inEast).NotTo(Equal(inWest), "%s: in east %v, in west %v", agendaID, inEast, inWest)
				r := recordOf(g, id, agendaID)
				g.Expect(r).NotTo(BeNil())
				g.Expect(r.Center).To(Equal(map[bool]string{true: "east", false: "west"}[inEast]), agendaID)
				g.Expect(r.State).To(Equal(string(popv1.PhaseSucceeded)), agendaID)
			}
		}, time.Minute, 200*time.Millisecond).Should(Succeed())
		e, w := east.agendas(Default), west.agendas(Default)
		GinkgoWriter.Printf("centers split: east %d, west %d\n", len(e), len(w))
		Consistently(func(g Gomega) int { return len(east.agendas(g)) + len(west.agendas(g)) }, 2*time.Second, 200*time.Millisecond).
			Should(Equal(n + 1)) // and first-east
		west.kill()
		east.kill()
	})

	It("lets another center take over a claim whose lease lapsed, and keeps the mirror to the new center", func() {
		By("east claims an Agenda that waits (its Insight paused) and dies with it unfinished")
		pauseIn(east, true)
		DeferCleanup(pauseIn, east, false)
		east.cfg.ClaimLease = 3 * time.Second
		DeferCleanup(func() { east.cfg.ClaimLease = time.Minute })
		padRevisions(east.env, west.env, 400) // east's etcd well ahead of west's
		east.start()
		sendSigned("stranded")
		var eastVersion uint64
		Eventually(func(g Gomega) {
			g.Expect(east.agendas(g)).To(HaveKey("stranded"))
			r := recordOf(g, id, "stranded")
			g.Expect(r).NotTo(BeNil())
			g.Expect(r.Center).To(Equal("east"))
			g.Expect(r.LeaseExpiresAt).NotTo(BeZero())
			g.Expect(r.Version).NotTo(BeZero(), "the Agenda's record, not only the claim")
			eastVersion = r.Version
		}, framework.Timeout, framework.Interval).Should(Succeed())
		east.kill()
		Eventually(func(g Gomega) bool {
			stranded, err := store.Stranded(ctx, recordOf(g, id, "stranded"), time.Now())
			g.Expect(err).NotTo(HaveOccurred())
			return stranded
		}, 10*time.Second, 200*time.Millisecond).Should(BeTrue(), "east's claim and center leases lapse")

		By("the client resends it; west takes the claim over and runs it")
		west.start()
		sendSigned("stranded")
		Eventually(func(g Gomega) {
			ag, ok := west.agendas(g)["stranded"]
			g.Expect(ok).To(BeTrue())
			g.Expect(ag.Annotations).To(HaveKeyWithValue(bridge.TakenOverAnnotation, "east"))
			r := recordOf(g, id, "stranded")
			g.Expect(r.Center).To(Equal("west"))
			g.Expect(r.TakenOverFrom).To(Equal("east"))
			g.Expect(r.State).To(Equal(string(popv1.PhaseSucceeded)))
			g.Expect(r.Version).To(BeNumerically("<", eastVersion), "west's resourceVersions are lower than east's: compared, they would be refused")
		}, framework.Timeout, framework.Interval).Should(Succeed())

		By("east comes back: it cancels its copy and leaves the record to west")
		east.start()
		Eventually(func(g Gomega) bool { a := east.agendas(g)["stranded"]; return a.Spec.Cancel }, framework.Timeout, framework.Interval).Should(BeTrue())
		Consistently(func(g Gomega) {
			r := recordOf(g, id, "stranded")
			g.Expect(r.Center).To(Equal("west"))
			g.Expect(r.State).To(Equal(string(popv1.PhaseSucceeded)))
		}, 2*time.Second, 200*time.Millisecond).Should(Succeed())
		east.kill()
		west.kill()
	})

	It("holds the Agendas of a center cut off from DynamoDB, and cancels those another center took over meanwhile", func() {
		fencedSpec(east, west, westSim, id, queue)
	})

	It("gives a center with free capacity more of the shared queue than a full one (capacity-aware pulling)", func() {
		capacitySplit(east, west, westSim, id, queue)
	})

	It("accounts for every message exactly once when a center is killed mid-run", func() {
		runKill(east, west, westSim, id, queue)
	})
})

// pauseIn pauses or resumes the customer's Insight in a center.
func pauseIn(c *center, paused bool) {
	GinkgoHelper()
	var ins popv1.Insight
	Expect(c.env.Client.Get(ctx, client.ObjectKey{Namespace: c.ns, Name: "local"}, &ins)).To(Succeed())
	patch := client.MergeFrom(ins.DeepCopy())
	ins.Spec.Paused = paused
	Expect(c.env.Client.Patch(ctx, &ins, patch)).To(Succeed())
}

// padRevisions writes to ahead's etcd until its revision is at least margin past behind's.
func padRevisions(ahead, behind *framework.Env, margin int) {
	GinkgoHelper()
	revision := func(e *framework.Env) int {
		var list corev1.ConfigMapList
		Expect(e.Client.List(ctx, &list, client.InNamespace("default"))).To(Succeed())
		n, err := strconv.Atoi(list.ResourceVersion)
		Expect(err).NotTo(HaveOccurred())
		return n
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pad", Namespace: "default"}}
	Expect(client.IgnoreAlreadyExists(ahead.Client.Create(ctx, cm))).To(Succeed())
	for k := 0; revision(ahead) < revision(behind)+margin; k++ {
		cm.Data = map[string]string{"k": strconv.Itoa(k)}
		Expect(ahead.Client.Update(ctx, cm)).To(Succeed())
	}
}
