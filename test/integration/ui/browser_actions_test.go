package ui_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/podspec"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

// fanOut is split → chunk-1…chunk-n (type encode) → join.
func fanOut(name, ns string, n int) *popv1.Agenda {
	w := builders.MakeAgenda(name, ns).Op("split", "echo")
	var chunks []string
	for i := 1; i <= n; i++ {
		c := fmt.Sprintf("chunk-%d", i)
		chunks = append(chunks, c)
		w = w.Op(c, "encode", map[string]any{"part": i, "of": "@<split.out::/parts>"}).DependsOn("split")
	}
	return w.Op("join", "echo").DependsOn(chunks...).Obj()
}

// finish writes a finished status: every operation Succeeded but failed, which Failed.
func finish(a *popv1.Agenda, failed string) {
	GinkgoHelper()
	Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(a), a)).To(Succeed())
	a.Status.Phase, a.Status.Operations = popv1.PhaseFailed, nil
	for _, op := range a.Spec.Operations {
		st := popv1.OperationStatus{Name: op.Name, State: popv1.OperationSucceeded, Attempts: 1, Output: `{"ok":true}`}
		if op.Name == failed {
			st.State, st.Attempts, st.Message = popv1.OperationFailed, 3, "exit code 1: out of disk"
		}
		a.Status.Operations = append(a.Status.Operations, st)
	}
	Expect(env.Client.Status().Update(ctx, a)).To(Succeed())
}

var _ = Describe("UI actions in a headless Chromium", func() {
	var nsA string
	BeforeEach(func() { nsA = customerNamespace("a", "alice", "edit") })

	It("lays the DAG out with dagre and collapses a fan-out group until it is clicked", func() {
		Expect(env.Client.Create(ctx, fanOut("fan", nsA, 6))).To(Succeed())
		b := browser(identity{user: "alice"})
		do(b, chromedp.Navigate(srv.URL+"/#/agenda/"+nsA+"/fan"), visible(`svg#graph[data-layout="dagre"] g.node.group`))
		Expect(value(b, chromedp.Evaluate[int](`document.querySelectorAll("#graph g.node").length`))).To(Equal(3))
		Expect(text(b, "#graph g.node.group text")).To(Equal("6 × encode"))
		// Left to right by dependency: split, the group, join.
		Expect(value(b, chromedp.Evaluate[bool](`(() => { const x = (s) => +document.querySelector(s).dataset.x;
			return x('g.node[data-op="split"]') < x('g.node.group') && x('g.node.group') < x('g.node[data-op="join"]'); })()`))).To(BeTrue())

		do(b, chromedp.Click(chromedp.CSS("#graph g.node.group")), visible(`g.node[data-op="chunk-6"]`))
		Expect(value(b, chromedp.Evaluate[int](`document.querySelectorAll("#graph g.node").length`))).To(Equal(8))
		Expect(value(b, chromedp.Evaluate[int](`document.querySelectorAll("#graph path.edge").length`))).To(Equal(12))
		// The six chunks share one rank (one x) and no two overlap.
		Expect(value(b, chromedp.Evaluate[bool](`(() => { const ns = [...document.querySelectorAll('g.node[data-op^="chunk-"]')];
			const xs = new Set(ns.map((n) => n.dataset.x)), ys = new Set(ns.map((n) => n.dataset.y));
			return xs.size === 1 && ys.size === 6; })()`))).To(BeTrue())
	})

	It("reruns all, from failure and the selected operations from the page, as the user", func() {
		ag := builders.MakeAgenda("failed", nsA).Op("a", "echo").Op("b", "echo").DependsOn("a").Op("c", "echo").DependsOn("b").Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		finish(ag, "b")
		rerun := func() *popv1.RerunSpec {
			var cur popv1.Agenda
			Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ag), &cur)).To(Succeed())
			return cur.Spec.Rerun
		}
		b := browser(identity{user: "alice"})
		do(b, chromedp.Navigate(srv.URL+"/#/agenda/"+nsA+"/failed"), visible(node("b", "Failed")))
		waitFor(b, `!document.getElementById("rerun-all").disabled && document.getElementById("rerun-selected").disabled`)

		do(b, chromedp.Click(chromedp.CSS("#rerun-failed")))
		Eventually(rerun, framework.Timeout).Should(HaveField("Mode", popv1.RerunFromFailure))
		first := rerun().ID
		do(b, chromedp.Click(chromedp.CSS("#rerun-all")))
		Eventually(rerun, framework.Timeout).Should(And(HaveField("Mode", popv1.RerunAll), Not(HaveField("ID", first))))

		do(b, chromedp.Click(chromedp.CSS(`g.node[data-op="c"]`)), visible("#mark"), chromedp.Click(chromedp.CSS("#mark")))
		waitFor(b, `document.getElementById("rerun-selected").textContent === "Rerun selected (1)"`)
		do(b, chromedp.Click(chromedp.CSS("#rerun-selected")))
		Eventually(rerun, framework.Timeout).Should(And(HaveField("Mode", popv1.RerunOperations), HaveField("Operations", []string{"c"})))
	})

	It("suspends and resumes an Agenda from the page, as the user", func() {
		ag := builders.MakeAgenda("held", nsA).Op("a", "echo").Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		suspended := func() bool {
			Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ag), ag)).To(Succeed())
			return ag.Spec.Suspend
		}
		b := browser(identity{user: "alice"})
		do(b, chromedp.Navigate(srv.URL+"/#/agenda/"+nsA+"/held"), visible("#suspend"))
		Expect(text(b, "#suspend")).To(Equal("Suspend"))
		do(b, chromedp.Click(chromedp.CSS("#suspend")))
		Eventually(suspended, framework.Timeout).Should(BeTrue())
		waitFor(b, `document.querySelector('#suspend').textContent === "Resume"`)
		do(b, chromedp.Click(chromedp.CSS("#suspend")))
		Eventually(suspended, framework.Timeout).Should(BeFalse())
	})

	It("pauses and resumes an Insight from the page for a platform user, and shows a customer's 403", func() {
		in := builders.MakeInsight("q", nsA).Obj()
		Expect(env.Client.Create(ctx, in)).To(Succeed())
		paused := func() bool {
			Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(in), in)).To(Succeed())
			return in.Spec.Paused
		}
		row := `tr[data-insight="` + nsA + `/q"]`
		b := browser(platform)
		do(b, chromedp.Navigate(srv.URL+"/#/insights"), visible(row+" button.pause"), chromedp.Click(chromedp.CSS(row+" button.pause")))
		Eventually(paused, framework.Timeout).Should(BeTrue())
		waitFor(b, `document.querySelector('`+row+` td.paused').textContent === "paused" && document.querySelector('`+row+` button.pause').textContent === "Resume"`)
		do(b, chromedp.Click(chromedp.CSS(row+" button.pause")))
		Eventually(paused, framework.Timeout).Should(BeFalse())
	})

	It("shows an operation's payloads, attempts, message and the log tail's answer in its detail", func() {
		ag := builders.MakeAgenda("detail", nsA).Op("probe", "echo", map[string]any{"asset": "@<agenda.params::/asset>"}).Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ag), ag)).To(Succeed())
		pod := podspec.Build(podspec.Input{Agenda: ag, Operation: &ag.Spec.Operations[0],
			Handler: &popv1.HandlerTypeSpec{Image: "pop-handlers/echo:dev"}, Attempt: 1, Payload: []byte(`{"asset":"s3://a/b.mp4"}`)})
		Expect(env.Client.Create(ctx, pod)).To(Succeed())
		pod.Status.Phase = corev1.PodRunning
		Expect(env.Client.Status().Update(ctx, pod)).To(Succeed())
		ag.Status.Phase = popv1.PhaseRunning
		ag.Status.Operations = []popv1.OperationStatus{{Name: "probe", State: popv1.OperationExecuting, Attempts: 1, Pod: pod.Name, Message: "probing"}}
		Expect(env.Client.Status().Update(ctx, ag)).To(Succeed())

		b := browser(identity{user: "alice"})
		do(b, chromedp.Navigate(srv.URL+"/#/agenda/"+nsA+"/detail"), visible(node("probe", "Executing")),
			chromedp.Click(chromedp.CSS(`g.node[data-op="probe"]`)), visible("#detail pre.resolved"))
		Expect(text(b, "#detail pre.resolved")).To(MatchJSON(`{"asset":"s3://a/b.mp4"}`))
		Expect(text(b, "#detail pre.payload")).To(ContainSubstring(`@<agenda.params::/asset>`))
		Expect(text(b, "#detail p.message")).To(Equal("probing"))
		Expect(text(b, `#detail tr[data-attempt="1"]`)).To(ContainSubstring(pod.Name))
		// envtest has no kubelet: the API server answers an empty log.
		Expect(text(b, "#detail pre.log")).To(Equal("(empty log)"))
	})

	It("captures each page (docs/ui/*.png with POP_UI_SCREENSHOTS=docs/ui)", func() {
		shots := screenshotScene(nsA)
		b := browser(platform)
		do(b, chromedp.EmulateViewport(1280, 760))
		for _, s := range shots {
			By("capturing " + s.file)
			do(b, chromedp.Navigate(srv.URL+"/"+s.hash), chromedp.SetValue(chromedp.CSS("#namespace"), nsA))
			value(b, chromedp.Evaluate[bool](`document.getElementById("namespace").dispatchEvent(new Event("change"))`))
			do(b, visible(s.ready))
			for _, c := range s.clicks {
				do(b, chromedp.Click(chromedp.CSS(c)))
			}
			if s.after != "" {
				do(b, visible(s.after))
			}
			png := value(b, chromedp.CaptureScreenshot())
			Expect(bytes.HasPrefix(png, []byte("\x89PNG"))).To(BeTrue())
			if dir := os.Getenv("POP_UI_SCREENSHOTS"); dir != "" {
				if !filepath.IsAbs(dir) {
					dir = filepath.Join(framework.RepoRoot(), dir)
				}
				Expect(os.WriteFile(filepath.Join(dir, s.file), png, 0o644)).To(Succeed())
			}
		}
	})
})

type shot struct {
	file, hash, ready string
	clicks            []string
	after             string
}

// screenshotScene makes Insights and Agendas in every state, and says what to capture.
func screenshotScene(ns string) []shot {
	GinkgoHelper()
	for _, q := range []struct {
		name              string
		algo              popv1.SchedulingAlgorithm
		capacity          int32
		pending, admitted int32
		paused            bool
	}{{"standard", popv1.FIFO, 4, 2, 4, false}, {"urgent", popv1.Priority, 2, 1, 2, false}, {"batch", popv1.Fairness, 8, 0, 3, true}} {
		in := builders.MakeInsight(q.name, ns).Algorithm(q.algo).Capacity(q.capacity).Paused(q.paused).Obj()
		Expect(env.Client.Create(ctx, in)).To(Succeed())
		in.Status = popv1.InsightStatus{Pending: q.pending, Admitted: q.admitted}
		for i := int32(1); i <= q.pending; i++ {
			since := metav1.NewTime(time.Now().Add(-time.Duration(100/i) * time.Second))
			in.Status.Head = append(in.Status.Head, popv1.PendingAgenda{Namespace: ns, Name: fmt.Sprintf("%s-job-%d", q.name, i), Position: i, Since: &since})
			if i == 1 {
				in.Status.OldestPendingSince = &since
			}
		}
		Expect(env.Client.Status().Update(ctx, in)).To(Succeed())
	}
	trailer := builders.MakeAgenda("publish-trailer", ns).Op("probe", "echo", map[string]any{"asset": "@<agenda.params::/asset>"}).
		Op("checksum", "hash", "@<probe.out::/asset>").DependsOn("probe").
		Op("thumbnail", "sample", map[string]any{"at": "@<probe.out::/duration>"}).DependsOn("probe").
		Op("publish", "echo", map[string]any{"sha": "@<checksum.out::/sha256>", "thumb": "@<thumbnail.out>"}).DependsOn("checksum", "thumbnail").Obj()
	Expect(env.Client.Create(ctx, trailer)).To(Succeed())
	Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(trailer), trailer)).To(Succeed())
	started := metav1.NewTime(time.Now().Add(-40 * time.Second))
	trailer.Status = popv1.AgendaStatus{Phase: popv1.PhaseRunning, Insight: "standard", PercentComplete: 62, Operations: []popv1.OperationStatus{
		{Name: "probe", State: popv1.OperationSucceeded, Attempts: 1, StartTime: &started, Output: `{"asset":"s3://media/trailers/big-buck-bunny.mp4","duration":596.5}`},
		{Name: "checksum", State: popv1.OperationSucceeded, Attempts: 2, Failures: 1, StartTime: &started, Pod: podspec.Name(trailer, "checksum", 2),
			Output: `{"sha256":"9f2c5e0b0d8c4f3a17e1b2a9c6d4e8f0a1b3c5d7e9f1a2b4c6d8e0f2a4b6c8d0"}`},
		{Name: "thumbnail", State: popv1.OperationExecuting, Attempts: 1, Progress: 50, StartTime: &started, Pod: podspec.Name(trailer, "thumbnail", 1)},
	}}
	Expect(env.Client.Status().Update(ctx, trailer)).To(Succeed())
	for attempt, phase := range map[int32]corev1.PodPhase{1: corev1.PodFailed, 2: corev1.PodSucceeded} {
		pod := podspec.Build(podspec.Input{Agenda: trailer, Operation: &trailer.Spec.Operations[1], Handler: &popv1.HandlerTypeSpec{Image: "pop-handlers/hash:dev"},
			Attempt: attempt, Payload: []byte(`"s3://media/trailers/big-buck-bunny.mp4"`), Customer: "a"})
		Expect(env.Client.Create(ctx, pod)).To(Succeed())
		code := map[corev1.PodPhase]int32{corev1.PodFailed: 1}[phase]
		pod.Status.Phase = phase
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: podspec.ContainerName, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: code, Reason: map[int32]string{0: "Completed", 1: "Error"}[code]}}}}
		Expect(env.Client.Status().Update(ctx, pod)).To(Succeed())
	}
	Expect(env.Client.Create(ctx, fanOut("encode-season", ns, 8))).To(Succeed())
	failed := builders.MakeAgenda("ingest-42", ns).Op("fetch", "echo").Op("transcode", "sample").DependsOn("fetch").Obj()
	Expect(env.Client.Create(ctx, failed)).To(Succeed())
	finish(failed, "transcode")
	queued := builders.MakeAgenda("standard-job-1", ns).Op("x", "echo").Obj()
	Expect(env.Client.Create(ctx, queued)).To(Succeed())
	setOpState(queued, popv1.PhaseQueued, "x", popv1.OperationWaiting)
	return []shot{
		{file: "insights.png", hash: "#/insights", ready: `tr[data-insight="` + ns + `/batch"]`},
		{file: "agendas.png", hash: "#/agendas", ready: `tr[data-agenda="` + ns + `/ingest-42"]`},
		{file: "agenda.png", hash: "#/agenda/" + ns + "/publish-trailer", ready: node("thumbnail", "Executing"),
			clicks: []string{`g.node[data-op="checksum"]`}, after: "#detail pre.output"},
		{file: "agenda-fan-out.png", hash: "#/agenda/" + ns + "/encode-season", ready: "g.node.group"},
		{file: "agenda-failed.png", hash: "#/agenda/" + ns + "/ingest-42", ready: node("transcode", "Failed"),
			clicks: []string{`g.node[data-op="transcode"]`}, after: "#detail p.message"},
	}
}
