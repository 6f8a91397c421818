package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/popctl"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

func sleepFor(ms int) map[string]any {
	return map[string]any{"actions": []any{map[string]any{"action": "sleep", "paramMap": map[string]any{"sleepMilliseconds": ms}}}}
}

var _ = Describe("Real Pods", func() {
	It("runs a diamond DAG whose outputs travel through real termination messages", func() {
		ns := newNamespace("diamond", 5)
		text := "s3://media/trailer.mp4"
		ag := builders.MakeAgenda("diamond", ns).Params(map[string]any{"asset": text}).
			Op("probe", "sample", map[string]any{"resultPayload": map[string]any{"duration": 596.5, "streams": []any{map[string]any{"codec": "h264"}}}}).
			Op("thumb", "echo", map[string]any{"at": "@<probe.out::/duration>", "label": "codec @<probe.out::/streams/0/codec>"}).
			Op("checksum", "hash", map[string]any{"text": "@<agenda.params::/asset>"}).DependsOn("probe").
			Op("publish", "echo", map[string]any{"thumb": "@<thumb.out>", "sha": "@<checksum.out::/sha256>",
				"subs": "@<probe.out::/streams/1?>", "lang": "@<probe.out::/language?en>", "id": "@<pop.agendaId>"}).Obj()
		Expect(k8s.Create(ctx, ag)).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseSucceeded, popv1.PhaseFailed)
		Expect(done.Status.Phase).To(Equal(popv1.PhaseSucceeded))
		sum := sha256.Sum256([]byte(text))
		Expect(opStatus(done, "publish").Output).To(MatchJSON(`{"thumb": {"at": 596.5, "label": "codec h264"},
			"sha": "` + hex.EncodeToString(sum[:]) + `", "subs": null, "lang": "en", "id": "diamond"}`))
	})

	It("retries a failing handler, then fails the Agenda", func() {
		ns := newNamespace("fail", 5)
		ag := builders.MakeAgenda("failing", ns).
			Op("bad", "sample", map[string]any{"actions": []any{map[string]any{"action": "fail", "paramMap": map[string]any{"message": "disk full"}}}}).
			Op("after", "echo", "@<bad.out>").Obj()
		ag.Spec.Operations[0].Retries = ptr.To[int32](1)
		Expect(k8s.Create(ctx, ag)).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseFailed)
		bad := opStatus(done, "bad")
		Expect(bad.Attempts).To(Equal(int32(2)))
		Expect(bad.Message).To(ContainSubstring("handler exited with code 1: action 0 (fail): disk full"))
		Expect(opStatus(done, "after").State).To(Equal(popv1.OperationSkipped))
	})

	It("kills a sleeping container at its timeout", func() {
		ns := newNamespace("timeout", 5)
		ag := builders.MakeAgenda("sleepy", ns).Op("nap", "sample", sleepFor(120_000)).Obj()
		ag.Spec.Operations[0].Timeout = &metav1.Duration{Duration: 3 * time.Second}
		Expect(k8s.Create(ctx, ag)).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseFailed)
		Expect(opStatus(done, "nap").Message).To(Or(ContainSubstring("timed out"), ContainSubstring("DeadlineExceeded")))
	})

	It("cancels a running Agenda and deletes its Pods", func() {
		ns := newNamespace("cancel", 5)
		ag := builders.MakeAgenda("cancelled", ns).Op("nap", "sample", sleepFor(120_000)).Obj()
		Expect(k8s.Create(ctx, ag)).To(Succeed())
		Eventually(func(g Gomega) {
			var pods corev1.PodList
			g.Expect(k8s.List(ctx, &pods, client.InNamespace(ns))).To(Succeed())
			g.Expect(pods.Items).To(ContainElement(HaveField("Status.Phase", corev1.PodRunning)))
		}, timeout, interval).Should(Succeed())
		Eventually(func(g Gomega) {
			var cur popv1.Agenda
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(ag), &cur)).To(Succeed())
			cur.Spec.Cancel = true
			g.Expect(k8s.Update(ctx, &cur)).To(Succeed())
		}, timeout, interval).Should(Succeed())
		done := waitForPhase(ag, popv1.PhaseCancelled)
		Expect(meta.IsStatusConditionTrue(done.Status.Conditions, popv1.AgendaCancelled)).To(BeTrue())
	})

	It("runs two Agendas one after the other in an Insight of capacity 1, under the restricted PSS", func() {
		ns := newNamespace("serial", 1)
		first := builders.MakeAgenda("first", ns).Op("nap", "sample", sleepFor(1500)).Obj()
		second := builders.MakeAgenda("second", ns).Op("nap", "sample", sleepFor(1500)).Obj()
		Expect(k8s.Create(ctx, first)).To(Succeed())
		Expect(k8s.Create(ctx, second)).To(Succeed())
		a := waitForPhase(first, popv1.PhaseSucceeded)
		b := waitForPhase(second, popv1.PhaseSucceeded)
		Expect(b.Status.AdmissionTime.Time).NotTo(BeTemporally("<", a.Status.CompletionTime.Add(-time.Second)),
			"the second Agenda was admitted before the first finished")
	})
})

var _ = Describe("POP compatibility on real Pods", func() {
	It("reads outputs and progress a handler writes in its own Pod's annotations", func() {
		ns := newNamespace("legacy", 5)
		Expect(k8s.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "reporter", Namespace: ns}})).To(Succeed())
		Expect(k8s.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "report", Namespace: ns},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "patch"}}}})).To(Succeed())
		Expect(k8s.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "report", Namespace: ns},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "report"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "reporter", Namespace: ns}}})).To(Succeed())
		ht := builders.MakeHandlerType("legacy", ns, "pop-handlers/sample:dev").ServiceAccount("reporter").
			Outputs(popv1.OutputAnnotation, 1024).
			// This cluster has no kube-proxy: point the handler at the API server's address.
			Env("KUBERNETES_SERVICE_HOST", "10.244.0.1").Env("KUBERNETES_SERVICE_PORT", "16443").Obj()
		ht.Spec.ImagePullPolicy = corev1.PullNever
		Expect(k8s.Create(ctx, ht)).To(Succeed())
		ag := builders.MakeAgenda("legacy", ns).Op("work", "legacy", map[string]any{
			"actions": []any{
				map[string]any{"action": "progress", "paramMap": map[string]any{"percentComplete": 40}},
				map[string]any{"action": "sleep", "paramMap": map[string]any{"sleepMilliseconds": 4000}},
			},
			"resultPayload": map[string]any{"frames": 240},
		}).Obj()
		Expect(k8s.Create(ctx, ag)).To(Succeed())
		Eventually(func(g Gomega) int32 {
			var cur popv1.Agenda
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(ag), &cur)).To(Succeed())
			return opStatus(&cur, "work").Progress
		}, timeout, 100*time.Millisecond).Should(Equal(int32(40)))
		done := waitForPhase(ag, popv1.PhaseSucceeded, popv1.PhaseFailed)
		Expect(opStatus(done, "work").Output).To(MatchJSON(`{"frames": 240}`), opStatus(done, "work").Message)
	})
})

var _ = Describe("Latency", func() {
	It("measures create→Succeeded for a one-operation Agenda", func() {
		ns := newNamespace("latency", 5)
		var took []time.Duration
		for i := 0; i < 3; i++ {
			ag := builders.MakeAgenda(fmt.Sprintf("one-%d", i), ns).Op("only", "echo", i).Obj()
			start := time.Now()
			Expect(k8s.Create(ctx, ag)).To(Succeed())
			Eventually(func(g Gomega) popv1.AgendaPhase {
				var cur popv1.Agenda
				g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(ag), &cur)).To(Succeed())
				return cur.Status.Phase
			}, timeout, 50*time.Millisecond).Should(Equal(popv1.PhaseSucceeded))
			took = append(took, time.Since(start))
		}
		sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
		AddReportEntry("create→Succeeded, one operation (3 runs, sorted)", took)
		fmt.Fprintf(GinkgoWriter, "create→Succeeded of a one-operation Agenda: %v (median %v)\n", took, took[1])
	})
})

var _ = Describe("popctl logs on real Pods", func() {
	It("prints a failed operation's handler log", func() {
		ns := newNamespace("logs", 5)
		ag := builders.MakeAgenda("noisy", ns).Op("talk", "sample", map[string]any{"actions": []any{
			map[string]any{"action": "log", "paramMap": map[string]any{"message": "hello from the handler"}},
			map[string]any{"action": "fail", "paramMap": map[string]any{"message": "boom"}},
		}}).Obj()
		Expect(k8s.Create(ctx, ag)).To(Succeed())
		waitForPhase(ag, popv1.PhaseFailed)
		var out, errOut bytes.Buffer
		root := popctl.NewRoot(&out, &errOut)
		root.SetArgs([]string{"--kubeconfig", kubeconfigPath, "-n", ns, "logs", "noisy", "talk"})
		Expect(root.ExecuteContext(ctx)).To(Succeed(), errOut.String())
		Expect(out.String()).To(ContainSubstring("hello from the handler"))
	})
})

var _ = Describe("The README's walkthrough on the local cluster", func() {
	It("onboards a customer with popctl, submits the sample Agenda and watches it finish", func() {
		root := framework.RepoRoot()
		popctlRun := func(args ...string) string {
			GinkgoHelper()
			var out bytes.Buffer
			cmd := popctl.NewRoot(&out, GinkgoWriter)
			cmd.SetArgs(append([]string{"--kubeconfig", kubeconfigPath}, args...))
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			Expect(cmd.ExecuteContext(ctx)).To(Succeed(), out.String())
			return out.String()
		}
		ns := fmt.Sprintf("readme-%d", time.Now().Unix()%100000)
		popctlRun("customer", "add", ns, "--editor", "alice")
		DeferCleanup(func() {
			// The samples' Insights select every namespace: gone before the next spec runs.
			Expect(k8s.DeleteAllOf(ctx, &popv1.Insight{}, client.InNamespace(ns))).To(Succeed())
			Eventually(func(g Gomega) {
				var list popv1.InsightList
				g.Expect(k8s.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
				g.Expect(list.Items).To(BeEmpty())
			}, timeout, interval).Should(Succeed())
			_ = k8s.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		})
		var nsObj corev1.Namespace
		Expect(k8s.Get(ctx, client.ObjectKey{Name: ns}, &nsObj)).To(Succeed())
		Expect(nsObj.Labels).To(HaveKeyWithValue(popv1.CustomerLabel, ns))
		Expect(nsObj.Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"))

		kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
		apply := exec.Command(kubectl, "--kubeconfig", kubeconfigPath, "apply", "-n", ns,
			"-f", filepath.Join(root, "config/samples/handlertypes.yaml"), "-f", filepath.Join(root, "config/samples/insights.yaml"))
		out, err := apply.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))

		Expect(popctlRun("-n", ns, "submit", "-f", filepath.Join(root, "config/samples/agenda.yaml"))).To(ContainSubstring("created in " + ns))
		watched := popctlRun("-n", ns, "watch", "publish-trailer")
		Expect(watched).To(ContainSubstring("Succeeded"))
		var ag popv1.Agenda
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "publish-trailer"}, &ag)).To(Succeed())
		Expect(ag.Status.Phase).To(Equal(popv1.PhaseSucceeded))
	})
})
