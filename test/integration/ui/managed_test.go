package ui_test

import (
	"context"
	"time"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/controllers"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

// inNamespace confines a client's lists to one namespace: the pod simulator then drives only
// the Pods of the namespace the manager runs, not those the other specs make by hand.
type inNamespace struct {
	client.Client
	ns string
}

func (c inNamespace) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return c.Client.List(ctx, list, append(opts, client.InNamespace(c.ns))...)
}

// startManaged runs POP's controllers and scheduler for one namespace (the other specs write
// statuses themselves) and the pod simulator for its Pods, each running for runFor, until the
// spec ends.
func startManaged(ns string, runFor time.Duration) {
	GinkgoHelper()
	mctx, cancel := context.WithCancel(ctx)
	opts := framework.ManagerOptions()
	opts.Cache = cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}, "pop-system": {}}}
	mgr, err := ctrl.NewManager(env.Config, opts)
	Expect(err).NotTo(HaveOccurred())
	parts, err := controllers.Setup(mgr, controllers.Options{MaxConcurrentReconciles: 4, OperatorNamespace: "pop-system", LaunchWait: 5 * time.Second})
	Expect(err).NotTo(HaveOccurred())
	stop, err := framework.RunManager(mctx, mgr, parts.Scheduler.Ready(), func(err error) { Fail(err.Error()) })
	Expect(err).NotTo(HaveOccurred())
	sim := podsim.New(inNamespace{Client: env.Client, ns: ns})
	sim.SetScript(podsim.EchoAfter(runFor))
	go sim.Run(mctx)
	DeferCleanup(func() { stop(); cancel() })
}

// recordStates makes the page remember every state each node was drawn in.
const recordStates = `window.seen = {}; new MutationObserver(() => {
	for (const n of document.querySelectorAll("#graph g.node[data-op]")) {
		(window.seen[n.dataset.op] = window.seen[n.dataset.op] || []);
		const s = window.seen[n.dataset.op];
		if (s[s.length - 1] !== n.dataset.state) s.push(n.dataset.state);
	}
}).observe(document.getElementById("main"), { childList: true, subtree: true, attributes: true }); true`

var _ = Describe("UI in a headless Chromium, with the manager and the pod simulator", func() {
	It("follows a 4-operation DAG from Queued to Succeeded as it runs, then reruns it from the page", func() {
		ns := customerNamespace("m", "alice", "edit")
		Expect(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "pop-system"}})).To(Or(Succeed(), MatchError(ContainSubstring("already exists"))))
		Expect(env.Client.Create(ctx, builders.MakeHandlerType("echo", ns, "pop-handlers/echo:dev").Obj())).To(Succeed())
		in := builders.MakeInsight("queue", ns).Capacity(1).Paused(true).Obj()
		Expect(env.Client.Create(ctx, in)).To(Succeed())
		startManaged(ns, 1500*time.Millisecond)

		ag := builders.MakeAgenda("dag", ns).Op("probe", "echo", map[string]any{"n": 1}).Op("left", "echo", "@<probe.out::/n>").
			Op("right", "echo", "@<probe.out>").Op("join", "echo", []string{"@<left.out>", "@<right.out>"}).Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())

		b := browser(identity{user: "alice"})
		do(b, chromedp.Navigate(srv.URL+"/#/agenda/"+ns+"/dag"), visible(node("join", "Waiting")))
		waitFor(b, `document.getElementById("phase").textContent === "Queued"`)
		value(b, chromedp.Evaluate[bool](recordStates))
		value(b, chromedp.Evaluate[bool](`window.notReloaded = true`))

		// The platform resumes the queue; the scheduler admits, the controller starts Pods in
		// dependency order, the simulator runs each for 1.5 s.
		Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(in), in)).To(Succeed())
		in.Spec.Paused = false
		Expect(env.Client.Update(ctx, in)).To(Succeed())
		value(b, chromedp.Poll[bool](`document.getElementById("phase").textContent === "Succeeded"`, chromedp.WithPollingTimeout(time.Minute)))
		Expect(value(b, chromedp.Evaluate[bool](`window.notReloaded === true`))).To(BeTrue(), "the page reloaded")
		seen := value(b, chromedp.Evaluate[map[string][]string](`window.seen`))
		for _, op := range []string{"probe", "left", "right", "join"} {
			Expect(seen[op]).To(ContainElements("Executing", "Succeeded"), "%s was drawn as %v", op, seen[op])
			Expect(seen[op][len(seen[op])-1]).To(Equal("Succeeded"))
		}
		Expect(text(b, `g.node[data-op="join"] text`)).To(Equal("join"))

		// Rerun all from the page: the controller acts on the new id and runs every operation again.
		do(b, chromedp.Click(chromedp.CSS("#rerun-all")))
		Eventually(func(g Gomega) {
			var cur popv1.Agenda
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ag), &cur)).To(Succeed())
			g.Expect(cur.Spec.Rerun).NotTo(BeNil())
			g.Expect(cur.Status.ObservedRerunID).To(Equal(cur.Spec.Rerun.ID))
			g.Expect(cur.Status.Phase).To(Equal(popv1.PhaseSucceeded))
			for _, op := range cur.Status.Operations {
				g.Expect(op.Attempts).To(Equal(int32(2)), "operation %s", op.Name)
			}
		}, time.Minute, 250*time.Millisecond).Should(Succeed())
		value(b, chromedp.Poll[bool](`document.getElementById("phase").textContent === "Succeeded" && !document.getElementById("rerun-all").disabled`,
			chromedp.WithPollingTimeout(time.Minute)))
	})

	It("suspends, resumes and cancels running Agendas from the page, and the manager acts on each", func() {
		ns := customerNamespace("s", "alice", "edit")
		Expect(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "pop-system"}})).To(Or(Succeed(), MatchError(ContainSubstring("already exists"))))
		Expect(env.Client.Create(ctx, builders.MakeHandlerType("echo", ns, "pop-handlers/echo:dev").Obj())).To(Succeed())
		Expect(env.Client.Create(ctx, builders.MakeInsight("queue", ns).Capacity(2).Obj())).To(Succeed())
		// Pods run 4 s: time enough to click Suspend while the first one runs, even on a
		// loaded machine.
		startManaged(ns, 4*time.Second)
		state := func(name, op string) func(g Gomega) popv1.OperationState {
			return func(g Gomega) popv1.OperationState {
				var cur popv1.Agenda
				g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &cur)).To(Succeed())
				for _, o := range cur.Status.Operations {
					if o.Name == op {
						return o.State
					}
				}
				return ""
			}
		}

		By("suspending a chain while its first operation runs: the second does not start until resumed")
		chain := builders.MakeAgenda("chain", ns).Op("first", "echo", 1).Op("second", "echo", "@<first.out>").Obj()
		Expect(env.Client.Create(ctx, chain)).To(Succeed())
		b := browser(identity{user: "alice"})
		do(b, chromedp.Navigate(srv.URL+"/#/agenda/"+ns+"/chain"), visible(node("first", "Executing")))
		do(b, chromedp.Click(chromedp.CSS("#suspend")))
		waitFor(b, `document.getElementById("suspend").textContent === "Resume"`)
		Eventually(state("chain", "first"), time.Minute, 100*time.Millisecond).Should(Equal(popv1.OperationSucceeded))
		Consistently(state("chain", "second"), 3*time.Second, 200*time.Millisecond).Should(Equal(popv1.OperationWaiting))
		do(b, chromedp.Click(chromedp.CSS("#suspend")))
		value(b, chromedp.Poll[bool](`document.getElementById("phase").textContent === "Succeeded"`, chromedp.WithPollingTimeout(time.Minute)))

		By("cancelling a running Agenda: the manager stops it and the page shows Cancelled")
		victim := builders.MakeAgenda("victim", ns).Op("only", "echo", 1).Obj()
		Expect(env.Client.Create(ctx, victim)).To(Succeed())
		do(b, chromedp.Navigate(srv.URL+"/#/agenda/"+ns+"/victim"), visible(node("only", "Executing")))
		do(b, chromedp.Click(chromedp.CSS("#cancel")))
		value(b, chromedp.Poll[bool](`document.getElementById("phase").textContent === "Cancelled"`, chromedp.WithPollingTimeout(time.Minute)))
		Expect(state("victim", "only")(Default)).To(Equal(popv1.OperationCancelled))
	})
})
