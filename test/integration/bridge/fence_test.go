package bridge_test

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/bridge"
	"github.com/pop-operator/pop/test/chaos"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

// A claim whose own lease lapsed stays its center's while that center renews its center
// lease: a live center whose mirror fell behind keeps its work (docs/centers.md).
var _ = Describe("A claim whose lease lapsed", func() {
	It("stays its center's while the center is alive, and is taken over once the center's lease lapsed too", func() {
		customer := fmt.Sprintf("lapsed-%d", customers.Add(1))
		now := time.Now()
		c, err := store.Claim(ctx, customer, "work", "ghost", 3*time.Second, now.Add(-10*time.Second))
		Expect(err).NotTo(HaveOccurred())
		Expect(c).To(Equal(bridge.Claim{Mine: true}))
		rec, err := store.Get(ctx, customer, "work")
		Expect(err).NotTo(HaveOccurred())
		Expect(rec.LeaseExpiresAt).To(BeNumerically("<", now.Unix()), "the claim's own lease has passed")

		By("ghost's center lease holds: the claim stands and the record is not stranded")
		Expect(store.RenewCenter(ctx, "ghost", now.Add(time.Minute))).To(Succeed())
		Expect(store.Stranded(ctx, rec, now)).To(BeFalse())
		c, err = store.Claim(ctx, customer, "work", "west", time.Minute, now)
		Expect(err).NotTo(HaveOccurred())
		Expect(c).To(Equal(bridge.Claim{Holder: "ghost"}))

		By("ghost's center lease lapsed too: stranded, and west takes it over")
		Expect(store.RenewCenter(ctx, "ghost", now.Add(-time.Second))).To(Succeed())
		Expect(store.Stranded(ctx, rec, now)).To(BeTrue())
		c, err = store.Claim(ctx, customer, "work", "west", time.Minute, now)
		Expect(err).NotTo(HaveOccurred())
		Expect(c).To(Equal(bridge.Claim{Mine: true, TakenOverFrom: "ghost"}))
	})
})

// chainAgenda is a message of n echo operations one after another.
func chainAgenda(customerID, agendaID string, n int) string {
	ops := make([]string, n)
	for k := range ops {
		prev := "null"
		if k > 0 {
			prev = fmt.Sprintf(`"@<step-%d.out>"`, k-1) // a reference: step k waits for step k-1
		}
		ops[k] = fmt.Sprintf(`{"name": "step-%d", "type": "echo", "payload": {"k": %d, "prev": %s}}`, k, k, prev)
	}
	return fmt.Sprintf(`{"agendaId": %q, "customerId": %q, "operations": [%s]}`, agendaID, customerID, strings.Join(ops, ","))
}

// cutOffDynamoDB points a center's bridge at DynamoDB through a proxy the test can cut: its
// manager process, started next, gets the proxy as --bridge-dynamodb-endpoint.
func cutOffDynamoDB(c *center) *chaos.Proxy {
	GinkgoHelper()
	u, err := url.Parse(baseConfig.DynamoDBEndpoint)
	Expect(err).NotTo(HaveOccurred())
	p, err := chaos.NewProxy()
	Expect(err).NotTo(HaveOccurred())
	p.SetBackends(u.Host)
	c.cfg.DynamoDBEndpoint = fmt.Sprintf("http://127.0.0.1:%d", p.Port())
	return p
}

// podsOf counts the Pods of an Agenda in a center.
func podsOf(g Gomega, c *center, ag popv1.Agenda) int {
	var pods corev1.PodList
	g.Expect(c.env.Client.List(ctx, &pods, client.InNamespace(c.ns))).To(Succeed())
	n := 0
	for _, p := range pods.Items {
		for _, o := range p.OwnerReferences {
			if o.UID == ag.UID {
				n++
			}
		}
	}
	return n
}

// fencedSpec: west, cut off from DynamoDB while east is alive, holds its bridged Agendas
// (no new Pod) before its claims may lapse; east takes over the one the client resends;
// back in touch, west cancels that one and resumes the other.
func fencedSpec(east, west *center, westSim *podsim.Simulator, id, queue string) {
	const lease = 6 * time.Second // fence after 3 s, center lease renewed every 2 s
	westSim.SetScript(podsim.EchoAfter(time.Second))
	DeferCleanup(westSim.SetScript, podsim.EchoAfter(0))
	proxy := cutOffDynamoDB(west)
	DeferCleanup(func() { proxy.Close(); west.cfg.DynamoDBEndpoint = baseConfig.DynamoDBEndpoint })
	west.cfg.ClaimLease, east.cfg.ClaimLease = lease, lease
	DeferCleanup(func() { west.cfg.ClaimLease, east.cfg.ClaimLease = time.Minute, time.Minute })

	By("west alone takes two 20-step Agendas; then east comes up")
	west.start()
	for _, name := range []string{"fenced-resent", "fenced-kept"} {
		body := chainAgenda(id, name, 20)
		sendTo(queue, body, signedBy(body))
	}
	Eventually(func(g Gomega) {
		ags := west.agendas(g)
		g.Expect(ags).To(HaveKey("fenced-resent"))
		g.Expect(ags).To(HaveKey("fenced-kept"))
		g.Expect(podsOf(g, west, ags["fenced-resent"])).To(BeNumerically(">=", 1))
		g.Expect(podsOf(g, west, ags["fenced-kept"])).To(BeNumerically(">=", 1))
	}, framework.Timeout, framework.Interval).Should(Succeed())
	east.start()
	Eventually(eastAlive, 10*time.Second, 200*time.Millisecond).Should(BeTrue())
	time.Sleep(bridge.CenterLeaseEvery(lease) + time.Second) // west's keeper has seen east alive

	By("west loses DynamoDB: within lease/2 + a renewal period its Agendas are suspended")
	cut := time.Now()
	proxy.Down()
	Eventually(func(g Gomega) {
		for _, name := range []string{"fenced-resent", "fenced-kept"} {
			ag := west.agendas(g)[name]
			g.Expect(ag.Spec.Suspend).To(BeTrue(), name)
			g.Expect(ag.Annotations).To(HaveKeyWithValue(bridge.FencedAnnotation, "true"), name)
		}
	}, lease, 100*time.Millisecond).Should(Succeed())
	fencedAfter := time.Since(cut)
	Expect(fencedAfter).To(BeNumerically("<", lease), "fenced before any claim may lapse")
	time.Sleep(time.Second) // a reconcile that read the Agenda before the fence may still start one Pod
	held := west.agendas(Default)
	podsAtFence := map[string]int{}
	for name, ag := range held {
		podsAtFence[name] = podsOf(Default, west, ag)
	}

	By("while cut off, west starts no new Pod; the client resends one stranded Agenda and east runs it")
	rec := func(g Gomega) *bridge.Record { return recordOf(g, id, "fenced-resent") }
	Eventually(func(g Gomega) bool {
		s, err := store.Stranded(ctx, rec(g), time.Now())
		g.Expect(err).NotTo(HaveOccurred())
		return s
	}, 3*lease, 200*time.Millisecond).Should(BeTrue())
	body := chainAgenda(id, "fenced-resent", 20)
	sendTo(queue, body, signedBy(body))
	Eventually(func(g Gomega) {
		r := rec(g)
		g.Expect(r.Center).To(Equal("east"))
		g.Expect(r.TakenOverFrom).To(Equal("west"))
		g.Expect(r.State).To(Equal(string(popv1.PhaseSucceeded)))
	}, framework.Timeout, framework.Interval).Should(Succeed())
	for name, ag := range held {
		// a Pod started just before the fence may still be running; none starts after it
		Expect(podsOf(Default, west, ag)).To(Equal(podsAtFence[name]), "%s: no Pod started while fenced", name)
	}

	By("west reaches DynamoDB again: it cancels what east took over and resumes the other")
	Expect(proxy.Up()).To(Succeed())
	Eventually(func(g Gomega) {
		ags := west.agendas(g)
		g.Expect(ags["fenced-resent"].Spec.Cancel).To(BeTrue())
		g.Expect(ags["fenced-resent"].Annotations).NotTo(HaveKey(bridge.FencedAnnotation))
		g.Expect(ags["fenced-kept"].Status.Phase).To(Equal(popv1.PhaseSucceeded))
		g.Expect(ags["fenced-kept"].Annotations).NotTo(HaveKey(bridge.FencedAnnotation))
		r := recordOf(g, id, "fenced-kept")
		g.Expect(r.Center).To(Equal("west"))
		g.Expect(r.State).To(Equal(string(popv1.PhaseSucceeded)))
	}, 2*framework.Timeout, framework.Interval).Should(Succeed())
	Expect(recordOf(Default, id, "fenced-resent").Center).To(Equal("east"))
	GinkgoWriter.Printf("centers fence: west suspended its Agendas %s after losing DynamoDB (lease %s)\n", fencedAfter.Round(100*time.Millisecond), lease)
	west.stop()
	east.stop()
}

// eastAlive says whether east's center lease holds now.
func eastAlive() (bool, error) {
	until, ok, err := store.CenterAliveUntil(ctx, "east")
	return ok && until.After(time.Now()), err
}
