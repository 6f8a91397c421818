package bridge_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/bridge"
	"github.com/pop-operator/pop/internal/popctl"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

// center is one cluster running POP with its bridge: its control plane, the customer's
// namespace there, and while it runs its manager — the manager binary (./cmd/manager) as a
// process of its own, as the Helm chart ships it embedded (controllers and bridge, leader
// election on), with cfg as its --bridge-* flags and --center.
type center struct {
	name string
	env  *framework.Env
	ns   string
	cfg  bridge.Config

	dir         string // its kubeconfig and its processes' logs
	kubeconfig  string
	proc        *framework.Process
	metricsAddr string
	runs        int
}

// newCenter prepares a center on a control plane: a kubeconfig of its own user and the
// operator's namespace (its leader-election Lease, the cluster-wide defaults).
func newCenter(name string, e *framework.Env, ns string, cfg bridge.Config, dir string) *center {
	GinkgoHelper()
	c := &center{name: name, env: e, ns: ns, cfg: cfg, dir: dir, kubeconfig: filepath.Join(dir, name+".kubeconfig")}
	c.cfg.Center = name
	Expect(e.WriteKubeconfig("pop-center-"+name, c.kubeconfig)).To(Succeed())
	Expect(client.IgnoreAlreadyExists(e.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}}))).To(Succeed())
	return c
}

// operatorNamespace is the manager's namespace (POD_NAMESPACE in the shipped Deployment).
const operatorNamespace = "pop-system"

// args are the center's command line: the shipped Deployment's (--leader-elect, as
// config/manager and the chart have it), the Lease's namespace (out of a cluster there is
// no service-account namespace to default to), its listen addresses (metrics on a free
// port, probes off), the suite's reconcile concurrency, and the bridge's flags from cfg.
// No --enable-webhooks: the webhook is off, as in the chaos run's bridge part.
func (c *center) args() []string {
	return append([]string{"--leader-elect", "--leader-election-namespace=" + operatorNamespace,
		"--metrics-bind-address=" + c.metricsAddr, "--health-probe-bind-address=0", "--max-concurrent-reconciles=4"},
		c.cfg.Args()...)
}

// start runs the center's manager process and waits until it leads (its controllers and
// the center keeper run; its intake polls from the start). After a kill that is once the
// dead process's leader Lease has expired, as for a restarted Pod.
func (c *center) start() {
	GinkgoHelper()
	Expect(c.proc).To(BeNil(), "%s runs already", c.name)
	bin, err := framework.ManagerBinary(ctx)
	Expect(err).NotTo(HaveOccurred())
	c.metricsAddr = framework.FreeAddr()
	c.runs++
	// The emulators take any credentials; the default chain reads these.
	env := []string{"KUBECONFIG=" + c.kubeconfig, "POD_NAMESPACE=" + operatorNamespace,
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1"}
	c.proc, err = framework.StartProcess(bin, c.args(), env, filepath.Join(c.dir, fmt.Sprintf("%s-%d.log", c.name, c.runs)))
	Expect(err).NotTo(HaveOccurred())
	Eventually(func(g Gomega) float64 {
		g.Expect(c.proc.Exited()).To(BeFalse(), "%s's manager ended; see %s", c.name, c.proc.Log)
		return c.metric(g, "leader_election_master_status", nil)
	}, time.Minute, 100*time.Millisecond).Should(BeEquivalentTo(1), "%s's manager leads; see %s", c.name, c.proc.Log)
}

// kill SIGKILLs the center's manager — a crash: it neither receives nor renews its claims
// and center lease, writes no last record and does not release its leader Lease.
func (c *center) kill() {
	if c.proc != nil {
		c.proc.Kill()
		c.proc = nil
	}
}

// stop ends the center's manager as a Pod is deleted (SIGTERM): where a spec is done with a
// center, not where it crashes one.
func (c *center) stop() {
	if c.proc != nil {
		c.proc.Stop(30 * time.Second)
		c.proc = nil
	}
}

// checkAlive fails the spec if the center's manager ended without being stopped.
func (c *center) checkAlive() {
	GinkgoHelper()
	if c.proc != nil {
		Expect(c.proc.Exited()).To(BeFalse(), "%s's manager ended by itself; see %s", c.name, c.proc.Log)
	}
}

// metric sums the samples of a metric on the center's /metrics whose labels have the given
// values (an empty value also matches a label left out).
func (c *center) metric(g Gomega, name string, labels map[string]string) float64 {
	samples, err := framework.Scrape("http://"+c.metricsAddr+"/metrics", name)
	g.Expect(err).NotTo(HaveOccurred())
	sum := 0.0
	for series, v := range samples {
		if matchesSeries(series, name, labels) {
			sum += v
		}
	}
	return sum
}

// matchesSeries says whether a series as the text format writes it (name{k="v",...}) is of
// the metric name with the labels' values.
func matchesSeries(series, name string, labels map[string]string) bool {
	rest, ok := strings.CutPrefix(series, name)
	if !ok || (rest != "" && rest[0] != '{') {
		return false
	}
	for k, v := range labels {
		has := strings.Contains(rest, k+"=")
		if !strings.Contains(rest, fmt.Sprintf("%s=%q", k, v)) && (v != "" || has) {
			return false
		}
	}
	return true
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

// Two centers: the suite's control plane is "east", a second one started here is "west",
// each with its own manager process. They share one signed intake queue, the dead-letter
// queue and the table. The pod simulators (the kubelets) stay in this process. The suite's
// own manager is stopped meanwhile (it would mirror east's Agendas as a third center).
var _ = Describe("Centers sharing one intake", Ordered, func() {
	var east, west *center
	var id, queue, logs string
	var westSim *podsim.Simulator
	keepLogs := false

	BeforeAll(func() {
		var err error
		logs, err = os.MkdirTemp("", "pop-centers-")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() {
			if keepLogs {
				fmt.Fprintf(GinkgoWriter, "centers: the managers' logs are kept in %s\n", logs)
				return
			}
			Expect(os.RemoveAll(logs)).To(Succeed())
		})
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
		east = newCenter("east", env, onboardIn(env, id, key, false), cfg, logs)
		west = newCenter("west", env2, onboardIn(env2, id, key, false), cfg, logs)
		DeferCleanup(func() { west.stop(); east.stop() })
		DeferCleanup(func() { // east's mirror lets its Agendas go (its finalizer)
			east.start()
			deleteAgendas(east.ns)
			east.stop()
		})
	})

	AfterEach(func() { // a spec leaves no manager running, whatever became of it
		if CurrentSpecReport().Failed() {
			keepLogs = true
		} else {
			east.checkAlive()
			west.checkAlive()
		}
		east.stop()
		west.stop()
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
		east.stop()

		By("the same message again, received by west only")
		west.start()
		sendSigned("first-east")
		Eventually(func(g Gomega) int { return queueDepth(g, queue) }, framework.Timeout, framework.Interval).Should(BeZero())
		Consistently(func(g Gomega) {
			g.Expect(west.agendas(g)).NotTo(HaveKey("first-east"))
			g.Expect(recordOf(g, id, "first-east").Center).To(Equal("east"))
		}, 2*time.Second, 200*time.Millisecond).Should(Succeed())
		west.stop()
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
		west.stop()
		east.stop()
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
		east.kill() // SIGKILL: its leader Lease stays until it expires
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
		east.stop()
		west.stop()
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
