// Package popctl_test runs popctl's commands against a real kube-apiserver.
package popctl_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/popctl"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

var (
	env *framework.Env
	c   client.WithWatch
	ctx = context.Background()
)

func TestPopctl(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "popctl suite")
}

var _ = BeforeSuite(func() {
	var err error
	env, err = framework.Start()
	Expect(err).NotTo(HaveOccurred())
	c, err = client.NewWithWatch(env.Config, client.Options{Scheme: framework.Scheme()})
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})

// run executes popctl with args in namespace ns and returns stdout, stderr and the error.
func run(ns string, args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	root := popctl.NewRootForClient(&out, &errOut, c, ns)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

func writeFile(content string) string {
	path := filepath.Join(GinkgoT().TempDir(), "agenda.json")
	Expect(os.WriteFile(path, []byte(content), 0o644)).To(Succeed())
	return path
}

var _ = Describe("popctl", func() {
	var ns string
	BeforeEach(func() {
		var err error
		ns, err = env.CreateNamespace(ctx, "cli", nil)
		Expect(err).NotTo(HaveOccurred())
	})

	It("submits an original POP Agenda JSON, then lists and shows it", func() {
		file := writeFile(`{"agendaId": "ingest-1", "params": {"asset": "a.mp4"}, "operations": [
			{"name": "probe", "type": "sample", "payload": {"x": 1}},
			{"name": "publish", "type": "echo", "payload": "@<probe.out>"}]}`)
		out, _, err := run(ns, "submit", "-f", file)
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring("agenda.pop.dev/ingest-1 created in " + ns))
		var ag popv1.Agenda
		Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "ingest-1"}, &ag)).To(Succeed())
		Expect(ag.Spec.Operations).To(HaveLen(2))

		out, _, err = run(ns, "list")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring("ingest-1"))
		out, _, err = run(ns, "get", "ingest-1")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(And(ContainSubstring("probe"), ContainSubstring("publish"), ContainSubstring("← probe")))
		out, _, err = run(ns, "get", "ingest-1", "-o", "json")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring(`"kind": "Agenda"`))
	})

	It("prints every validation error by field path and sends nothing", func() {
		file := writeFile(`{"agendaId": "broken", "operations": [
			{"name": "a", "type": "echo", "payload": "@<ghost.out>"},
			{"name": "b", "type": "echo", "params": {"dependsOn": "b"}}]}`)
		_, errOut, err := run(ns, "submit", "-f", file)
		Expect(err).To(MatchError(ContainSubstring("2 problem(s)")))
		Expect(errOut).To(ContainSubstring(`spec.operations[0].payload: Invalid value: "ghost": unknown operation "ghost"`))
		Expect(errOut).To(ContainSubstring(`spec.operations[1].params.dependsOn: Invalid value: "b": an operation cannot depend on itself`))
		err = c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "broken"}, &popv1.Agenda{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue())
	})

	It("cancels and reruns", func() {
		Expect(c.Create(ctx, builders.MakeAgenda("job", ns).Op("a", "echo").Obj())).To(Succeed())
		_, _, err := run(ns, "cancel", "job")
		Expect(err).NotTo(HaveOccurred())
		var ag popv1.Agenda
		Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "job"}, &ag)).To(Succeed())
		Expect(ag.Spec.Cancel).To(BeTrue())

		_, _, err = run(ns, "rerun", "job", "--mode", "Operations")
		Expect(err).To(MatchError(ContainSubstring("needs at least one --operation")))
		_, _, err = run(ns, "rerun", "job", "--mode", "Operations", "--operation", "a")
		Expect(err).NotTo(HaveOccurred())
		Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "job"}, &ag)).To(Succeed())
		Expect(ag.Spec.Cancel).To(BeFalse())
		Expect(ag.Spec.Rerun).To(HaveField("Operations", ConsistOf("a")))
	})

	It("watches an Agenda until it finishes", func() {
		ag := builders.MakeAgenda("watched", ns).Op("a", "echo").Obj()
		Expect(c.Create(ctx, ag)).To(Succeed())
		done := make(chan string)
		go func() {
			defer GinkgoRecover()
			out, _, err := run(ns, "watch", "watched")
			Expect(err).NotTo(HaveOccurred())
			done <- out
		}()
		Eventually(func(g Gomega) {
			var cur popv1.Agenda
			g.Expect(c.Get(ctx, client.ObjectKeyFromObject(ag), &cur)).To(Succeed())
			cur.Status.Phase, cur.Status.PercentComplete = popv1.PhaseSucceeded, 100
			cur.Status.Operations = []popv1.OperationStatus{{Name: "a", State: popv1.OperationSucceeded, Attempts: 1}}
			g.Expect(c.Status().Update(ctx, &cur)).To(Succeed())
		}, framework.Timeout).Should(Succeed())
		var out string
		Eventually(done, framework.Timeout).Should(Receive(&out))
		Expect(out).To(And(ContainSubstring("Agenda "+ns+"/watched  Succeeded  100%"), ContainSubstring("✔ a")))
	})

	It("shows an Insight's queue", func() {
		ins := builders.MakeInsight("q", ns).Obj()
		Expect(c.Create(ctx, ins)).To(Succeed())
		ins.Status.Pending = 1
		ins.Status.Head = []popv1.PendingAgenda{{Namespace: ns, Name: "next", Position: 1}}
		Expect(c.Status().Update(ctx, ins)).To(Succeed())
		out, _, err := run(ns, "queue", "q")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring("1         " + ns + "/next"))
	})

	It("onboards a customer namespace with quota, limits and bindings, idempotently", func() {
		name := "initech-" + ns
		args := []string{"customer", "add", "initech", "--namespace-name", name, "--editor", "alice", "--viewer", "bob", "--quota-pods", "20"}
		out, _, err := run("", args...)
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring("ready for customer initech"))
		_, _, err = run("", args...)
		Expect(err).NotTo(HaveOccurred(), "a second add must succeed")
		var got corev1.Namespace
		Expect(c.Get(ctx, client.ObjectKey{Name: name}, &got)).To(Succeed())
		Expect(got.Labels).To(HaveKeyWithValue(popv1.CustomerLabel, "initech"))
		Expect(got.Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"))
		var quota corev1.ResourceQuota
		Expect(c.Get(ctx, client.ObjectKey{Namespace: name, Name: "pop-customer"}, &quota)).To(Succeed())
		Expect(quota.Spec.Hard.Pods().Value()).To(Equal(int64(20)))
		Expect(c.Get(ctx, client.ObjectKey{Namespace: name, Name: "pop-customer"}, &corev1.LimitRange{})).To(Succeed())
		var edit rbacv1.RoleBinding
		Expect(c.Get(ctx, client.ObjectKey{Namespace: name, Name: "pop-customer-edit"}, &edit)).To(Succeed())
		Expect(edit.Subjects).To(ConsistOf(HaveField("Name", "alice")))
		Expect(c.Get(ctx, client.ObjectKey{Namespace: name, Name: "pop-customer-view"}, &rbacv1.RoleBinding{})).To(Succeed())
	})
})
