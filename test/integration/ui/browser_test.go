package ui_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

// chromiumPath finds Debian's chromium. The test installs nothing: hack/chromium.sh does, from
// `make test-integration`. Without a browser the spec fails, unless POP_UI_BROWSER=0 says to skip.
func chromiumPath() string {
	GinkgoHelper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("POP_UI_BROWSER") == "0" {
		Skip("no chromium and POP_UI_BROWSER=0: browser tests skipped")
	}
	Fail("chromium not found: run hack/chromium.sh (as root), or set POP_UI_BROWSER=0 to skip the browser tests")
	return ""
}

// browser starts a headless Chromium whose every request carries who's proxy identity.
func browser(who identity) context.Context {
	GinkgoHelper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath()), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(GinkgoT().TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.Flag("disable-quic", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	DeferCleanup(func() { cancelBrowser(); cancelAlloc() })
	headers := network.Headers{"X-Remote-User": who.user}
	if who.groups != "" {
		headers["X-Remote-Group"] = who.groups
	}
	_, err := chromedp.Call(bctx, network.Enable, network.EnableParams{})
	Expect(err).NotTo(HaveOccurred())
	_, err = chromedp.Call(bctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: headers})
	Expect(err).NotTo(HaveOccurred())
	return bctx
}

// do runs browser steps with the suite's timeout.
func do(bctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	GinkgoHelper()
	tctx, cancel := context.WithTimeout(bctx, framework.Timeout)
	defer cancel()
	Expect(chromedp.Do(tctx, steps...)).To(Succeed())
}

// value runs one browser action with the suite's timeout and returns its value.
func value[T any](bctx context.Context, a chromedp.Action[T]) T {
	GinkgoHelper()
	tctx, cancel := context.WithTimeout(bctx, framework.Timeout)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	Expect(err).NotTo(HaveOccurred())
	return v
}

// waitFor waits until the JavaScript predicate holds in the page.
func waitFor(bctx context.Context, predicate string) {
	GinkgoHelper()
	value(bctx, chromedp.Poll[bool](predicate, chromedp.WithPollingTimeout(framework.Timeout)))
}

// text reads an element's text in one evaluation: the page redraws a view on every event, so
// a DOM node found by one protocol call may be gone by the next.
func text(bctx context.Context, sel string) string {
	GinkgoHelper()
	q, err := json.Marshal(sel)
	Expect(err).NotTo(HaveOccurred())
	return value(bctx, chromedp.Evaluate[string](`document.querySelector(`+string(q)+`).textContent`))
}

func visible(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(sel))
}

func node(op, state string) string { return `g.node[data-op="` + op + `"][data-state="` + state + `"]` }

var _ = Describe("UI in a headless Chromium", func() {
	var nsA, nsB string
	BeforeEach(func() {
		nsA = customerNamespace("a", "alice", "edit")
		nsB = customerNamespace("b", "bob", "edit")
	})

	It("shows an Insight's queue and updates it live", func() {
		in := builders.MakeInsight("q", nsA).Obj()
		Expect(env.Client.Create(ctx, in)).To(Succeed())
		in.Status = popv1.InsightStatus{Pending: 1, Head: []popv1.PendingAgenda{{Namespace: nsA, Name: "first", Position: 1}}}
		Expect(env.Client.Status().Update(ctx, in)).To(Succeed())

		b := browser(platform)
		row := `tr[data-insight="` + nsA + `/q"]`
		do(b, chromedp.Navigate(srv.URL+"/#/insights"), visible(row+` td.pending`))
		Expect(text(b, row+` td.head`)).To(ContainSubstring("#1 " + nsA + "/first"))
		Expect(text(b, row+` td.capacity`)).To(Equal("1"))

		in.Status.Pending, in.Status.Admitted, in.Status.Head = 0, 1, nil
		Expect(env.Client.Status().Update(ctx, in)).To(Succeed())
		waitFor(b, `document.querySelector('`+row+` td.admitted').textContent === "1"`)
		Expect(text(b, row+` td.pending`)).To(Equal("0"))
	})

	It("draws a 4-operation DAG and follows it from Queued to Succeeded without a reload", func() {
		ag := builders.MakeAgenda("dag", nsA).Op("probe", "echo").Op("left", "echo").DependsOn("probe").
			Op("right", "echo").DependsOn("probe").Op("join", "echo").DependsOn("left", "right").Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		setOpState(ag, popv1.PhaseQueued, "probe", popv1.OperationWaiting)

		b := browser(identity{user: "alice"})
		do(b, chromedp.Navigate(srv.URL+"/#/agenda/"+nsA+"/dag"), visible(node("join", "Waiting")))
		Expect(text(b, "#phase")).To(Equal("Queued"))
		value(b, chromedp.Evaluate[bool](`window.notReloaded = true`))
		Expect(value(b, chromedp.Evaluate[int](`document.querySelectorAll("#graph g.node").length`))).To(Equal(4))
		Expect(value(b, chromedp.Evaluate[int](`document.querySelectorAll("#graph path.edge").length`))).To(Equal(4))

		for _, op := range []string{"probe", "left", "right", "join"} {
			setOpState(ag, popv1.PhaseRunning, op, popv1.OperationExecuting)
			do(b, visible(node(op, "Executing")))
			setOpState(ag, popv1.PhaseRunning, op, popv1.OperationSucceeded)
			do(b, visible(node(op, "Succeeded")))
		}
		setOpState(ag, popv1.PhaseSucceeded, "join", popv1.OperationSucceeded)
		waitFor(b, `document.getElementById("phase").textContent === "Succeeded"`)
		Expect(value(b, chromedp.Evaluate[bool](`window.notReloaded === true`))).To(BeTrue(), "the page reloaded")
	})

	It("cancels an Agenda from the page as the user", func() {
		ag := builders.MakeAgenda("long", nsA).Op("x", "echo").Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		b := browser(identity{user: "alice"})
		do(b, chromedp.Navigate(srv.URL+"/#/agenda/"+nsA+"/long"), visible(node("x", "Waiting")),
			chromedp.Click(chromedp.CSS("#cancel")))
		Eventually(func(g Gomega) {
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ag), ag)).To(Succeed())
			g.Expect(ag.Spec.Cancel).To(BeTrue())
		}, framework.Timeout).Should(Succeed())
		waitFor(b, `document.getElementById("cancel").disabled`)
	})

	It("shows a customer the API server's refusal of another customer's Agenda, and not its graph", func() {
		Expect(env.Client.Create(ctx, builders.MakeAgenda("secret", nsB).Op("x", "echo").Obj())).To(Succeed())
		b := browser(identity{user: "alice"})
		do(b, chromedp.Navigate(srv.URL+"/#/agenda/"+nsB+"/secret"))
		waitFor(b, `document.getElementById("error").textContent !== ""`)
		Expect(text(b, "#error")).To(ContainSubstring(`User "alice" cannot get resource "agendas"`))
		Expect(value(b, chromedp.Evaluate[int](`document.querySelectorAll("g.node").length`))).To(BeZero())
	})
})
