package large_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/archive"
	"github.com/pop-operator/pop/test/builders"
)

// The bounds docs/status-layout.md states, which every stored version must keep.
const (
	agendaBound = 1.25 * 1024 * 1024 // spec (at most popv1.MaxSpecBytes) and status together (test/objectsize: the worst case)
	shardBound  = 128 * 1024
)

// slowAgenda names the Agenda whose Pods run for a second (outputOf).
const slowAgenda = "slow-fanout"

// newNamespace makes a customer namespace with an echo HandlerType keeping 4 KiB outputs.
func newNamespace(prefix string) string {
	GinkgoHelper()
	ns, err := env.CreateNamespace(ctx, prefix, map[string]string{popv1.CustomerLabel: prefix})
	Expect(err).NotTo(HaveOccurred())
	ht := builders.MakeHandlerType("echo", ns, "pop-handlers/echo:dev").Outputs(popv1.OutputTerminationMessage, 4096).Obj()
	Expect(env.Client.Create(ctx, ht)).To(Succeed())
	return ns
}

// admit does what the scheduler does once the Agenda is accepted.
func admit(ag *popv1.Agenda) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		var cur popv1.Agenda
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ag), &cur)).To(Succeed())
		g.Expect(meta.IsStatusConditionTrue(cur.Status.Conditions, popv1.AgendaAccepted)).To(BeTrue(), "not accepted: %v", cur.Status.Conditions)
		meta.SetStatusCondition(&cur.Status.Conditions, metav1.Condition{Type: popv1.AgendaAdmitted, Status: metav1.ConditionTrue,
			Reason: popv1.ReasonAdmittedByScheduler, Message: "admitted by the test", ObservedGeneration: cur.Generation})
		now := metav1.Now()
		cur.Status.AdmissionTime = &now
		g.Expect(env.Client.Status().Update(ctx, &cur)).To(Succeed())
	}, 2*time.Minute, 100*time.Millisecond).Should(Succeed())
}

func waitForPhase(ag *popv1.Agenda, phase popv1.AgendaPhase, within time.Duration) *popv1.Agenda {
	GinkgoHelper()
	var cur popv1.Agenda
	Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ag), &cur)).To(Succeed())
		g.Expect(cur.Status.Phase).To(Equal(phase), "counts %+v", cur.Status.Counts)
	}, within, time.Second).Should(Succeed())
	return &cur
}

// report records a figure of the suite: in the report, and in $POP_CACHE/large-figures.txt,
// which .ci/run prints (go test shows a passing package's output only with -v).
func report(what, figure string) {
	AddReportEntry(what, figure)
	line := fmt.Sprintf("large Agendas: %s: %s\n", what, figure)
	fmt.Print(line)
	if dir := os.Getenv("POP_CACHE"); dir != "" {
		f, err := os.OpenFile(filepath.Join(dir, "large-figures.txt"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		Expect(err).NotTo(HaveOccurred())
		_, _ = f.WriteString(line)
		Expect(f.Close()).To(Succeed())
	}
}

// checkBounds fails on any stored version over its bound and reports what was written.
func checkBounds(what string, w map[string]written, ops int) {
	GinkgoHelper()
	ag, sh := w["Agenda"], w["OperationShard"]
	report(what+", writes", fmt.Sprintf("Agenda: %s; OperationShards: %s; %.1f KB per operation (Agenda and shards); most executing %d",
		ag, sh, float64(ag.Bytes+sh.Bytes)/1e3/float64(ops), ag.MostExecuting))
	Expect(ag.Largest).To(BeNumerically("<=", agendaBound), "the largest Agenda version")
	Expect(sh.Largest).To(BeNumerically("<=", shardBound), "the largest OperationShard")
	// MaxParallelism operations with a Pod, and the fan-out's own entry, which has none.
	Expect(ag.MostExecuting).To(BeNumerically("<=", popv1.MaxParallelism+1))
}

// checkAllSucceeded reads the whole operation list, archive included, and checks every
// entry succeeded and every generated or spec operation kept its 4 KiB output.
func checkAllSucceeded(ag *popv1.Agenda, want int) {
	GinkgoHelper()
	ops, err := archive.Operations(ctx, env.Client, ag)
	Expect(err).NotTo(HaveOccurred())
	Expect(ops).To(HaveLen(want))
	for _, o := range ops {
		Expect(o.State).To(Equal(popv1.OperationSucceeded), o.Name)
	}
	Expect(ag.Status.Counts).NotTo(BeNil())
	Expect(ag.Status.Counts.Succeeded).To(BeEquivalentTo(want))
	Expect(ag.Status.Shards).To(BeNumerically(">", 0))
}

var _ = Describe("Agendas of thousands of operations", func() {
	It("runs a 10,000-operation fan-out with 4 KiB outputs to Succeeded, no object over its bound", func() {
		ns := newNamespace("fanout")
		sizes := recordSizes(ns)
		ag := builders.MakeAgenda("wide", ns).Op("encode", "echo", "@<item>").ForEach(make([]any, 10000)).Obj()
		start := time.Now()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		admit(ag)
		done := waitForPhase(ag, popv1.PhaseSucceeded, 20*time.Minute)
		report("10,000-op fan-out", fmt.Sprintf("Succeeded after %s", time.Since(start).Round(time.Second)))
		checkAllSucceeded(done, 10001)
		checkBounds("10,000-op fan-out", sizes.stop(), 10001)
	})

	It("runs a 1,000-operation chain with 4 KiB outputs to Succeeded, no object over its bound", func() {
		ns := newNamespace("chain")
		sizes := recordSizes(ns)
		w := builders.MakeAgenda("chain", ns).Op("step-0", "echo")
		for i := 1; i < 1000; i++ {
			w = w.Op(fmt.Sprintf("step-%d", i), "echo").DependsOn(fmt.Sprintf("step-%d", i-1))
		}
		ag := w.Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		admit(ag)
		done := waitForPhase(ag, popv1.PhaseSucceeded, 20*time.Minute)
		took := done.Status.CompletionTime.Sub(done.Status.StartTime.Time)
		report("1,000-op chain", fmt.Sprintf("first Pod to Succeeded %s, %s per step (the pod simulator's own time included)", took, took/1000))
		checkAllSucceeded(done, 1000)
		checkBounds("1,000-op chain", sizes.stop(), 1000)
	})

	It("ends a 10,000-operation fan-out cancelled mid-run, its running Pods deleted", func() {
		ns := newNamespace("cancel")
		sizes := recordSizes(ns)
		ag := builders.MakeAgenda(slowAgenda, ns).Op("encode", "echo", "@<item>").ForEach(make([]any, 10000)).Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		admit(ag)
		Eventually(func(g Gomega) {
			var cur popv1.Agenda
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ag), &cur)).To(Succeed())
			g.Expect(cur.Status.Counts).NotTo(BeNil())
			g.Expect(cur.Status.Counts.Succeeded).To(BeNumerically(">=", 1500))
		}, 10*time.Minute, time.Second).Should(Succeed())
		Expect(env.Client.Patch(ctx, ag, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"cancel":true}}`)))).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseCancelled, 5*time.Minute)
		Expect(done.Status.Counts.Executing + done.Status.Counts.Waiting).To(BeZero())
		Expect(done.Status.Counts.Cancelled).To(BeNumerically(">", 1000))
		Eventually(func(g Gomega) {
			var pods corev1.PodList
			g.Expect(env.Client.List(ctx, &pods, client.InNamespace(ns))).To(Succeed())
			for _, p := range pods.Items {
				g.Expect(p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil).To(BeFalse(), "Pod %s still running", p.Name)
			}
		}, 2*time.Minute, time.Second).Should(Succeed())
		report("10,000-op fan-out cancelled", fmt.Sprintf("%d succeeded, %d cancelled", done.Status.Counts.Succeeded, done.Status.Counts.Cancelled))
		checkBounds("10,000-op fan-out cancelled", sizes.stop(), 10001)
	})
})
