// Package webhook_test proves the validating webhook rejects invalid Agendas at the door,
// with field paths, against a real kube-apiserver calling a real webhook server.
package webhook_test

import (
	"context"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/webhooks"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

var (
	env    *framework.Env
	ctx    context.Context
	cancel context.CancelFunc
)

func TestWebhook(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Webhook suite")
}

var _ = BeforeSuite(func() {
	ctx, cancel = context.WithCancel(context.Background())
	var err error
	env, err = framework.StartWithWebhooks()
	Expect(err).NotTo(HaveOccurred())
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:        framework.Scheme(),
		Metrics:       metricsserver.Options{BindAddress: "0"},
		WebhookServer: webhook.NewServer(env.WebhookServerOptions()),
	})
	Expect(err).NotTo(HaveOccurred())
	Expect(webhooks.SetupAgendaWebhook(mgr, systemNamespace)).To(Succeed())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	// The API server calls the webhook only once the server listens.
	Eventually(func() error { return mgr.GetWebhookServer().StartedChecker()(nil) }, framework.Timeout).Should(Succeed())
})

var _ = AfterSuite(func() {
	cancel()
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})

var _ = Describe("Agenda webhook", func() {
	var ns string
	BeforeEach(func() {
		var err error
		ns, err = env.CreateNamespace(ctx, "wh", nil)
		Expect(err).NotTo(HaveOccurred())
	})

	expectDenied := func(ag *popv1.Agenda, fragments ...string) {
		GinkgoHelper()
		err := env.Client.Create(ctx, ag)
		Expect(err).To(HaveOccurred(), "the webhook let an invalid Agenda in")
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want 422 Invalid, got %v", err)
		for _, f := range fragments {
			Expect(err.Error()).To(ContainSubstring(f))
		}
	}

	It("admits a valid Agenda", func() {
		Expect(env.Client.Create(ctx, builders.MakeAgenda("ok", ns).Op("a", "t").Op("b", "t", "@<a.out::/x>").Obj())).To(Succeed())
	})

	DescribeTable("denies",
		func(w *builders.AgendaWrapper, fragments ...string) {
			ag := w.Obj()
			ag.Namespace = ns
			expectDenied(ag, fragments...)
		},
		Entry("an unknown dependsOn", builders.MakeAgenda("x", "").Op("a", "t").Op("b", "t").DependsOn("zz"),
			`spec.operations[1].dependsOn[0]: Invalid value: "zz": unknown operation "zz"`),
		Entry("a cycle, named", builders.MakeAgenda("x", "").Op("a", "t", "@<b.out>").Op("b", "t", "@<a.out>"),
			`dependency cycle: a -> b -> a`),
		Entry("a malformed reference", builders.MakeAgenda("x", "").Op("a", "t", map[string]any{"p": []any{"@<a"}}),
			`spec.operations[0].payload.p[0]`, "unterminated reference"),
		Entry("an unknown source", builders.MakeAgenda("x", "").Op("a", "t", "@<pop.tenant>"),
			`unknown source "pop.tenant"`),
		Entry("a when that does not compile, with its field path", builders.MakeAgenda("x", "").Op("a", "t").Op("b", "t").Op("c", "t").When("ops.a.phase =="),
			`spec.operations[2].when: Invalid value: "ops.a.phase ==": ERROR: <input>:1:15: Syntax error`),
		Entry("a when that is not boolean", builders.MakeAgenda("x", "").Op("a", "t").Op("b", "t").When(`size(ops.a.phase)`),
			`spec.operations[1].when`, "must be a boolean expression"),
		Entry("a when reading an unknown operation", builders.MakeAgenda("x", "").Op("a", "t").When(`ops.ghost.phase == "Failed"`),
			`spec.operations[0].when: Invalid value: "ghost": unknown operation "ghost"`),
		Entry("an after on an unknown operation", afterUnknown(),
			`spec.operations[1].after[0].operation: Invalid value: "zz": unknown operation "zz"`),
		Entry("a main operation that depends on a finally one", mainOnFinally(),
			`spec.operations[1]: Invalid value: "b": depends on finally operation "fin"`),
		Entry("a forEach neither an array nor a whole reference", builders.MakeAgenda("x", "").Op("a", "t").Op("b", "t").ForEach("x @<a.out>"),
			`spec.operations[1].forEach: Invalid value: "x @<a.out>": must be a JSON array or a whole reference`),
		Entry("a forEach reading an unknown operation", builders.MakeAgenda("x", "").Op("a", "t").ForEach("@<ghost.out::/s>"),
			`spec.operations[0].forEach: Invalid value: "@<ghost.out::/s>": unknown operation "ghost"`),
		Entry("a forEach of more than 10000 items", builders.MakeAgenda("x", "").Op("a", "t").ForEach(make([]any, 10001)),
			`spec.operations[0].forEach`, "forEach has 10001 items; at most 10000"),
		Entry("@<item> outside a forEach operation", builders.MakeAgenda("x", "").Op("a", "t", map[string]any{"s": "@<item::/uri>"}),
			`spec.operations[0].payload.s: Invalid value: "@<item::/uri>": @<item> exists only in the payload of an operation with forEach`),
		Entry("@<pop.phase> outside a finally operation", builders.MakeAgenda("x", "").Op("a", "t", "@<pop.phase>"),
			`spec.operations[0].payload: Invalid value: "@<pop.phase>": @<pop.phase> exists only in the payload of a finally operation`),
		Entry("every problem at once", builders.MakeAgenda("x", "").Op("a", "t").DependsOn("a").Op("b", "t", "@<c.out>"),
			`spec.operations[0].dependsOn[0]`, `spec.operations[1].payload`),
	)

	It("refuses to change the operations of a running Agenda, but allows cancel", func() {
		ag := builders.MakeAgenda("running", ns).Op("a", "t").Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		meta.SetStatusCondition(&ag.Status.Conditions, metav1.Condition{Type: popv1.AgendaAdmitted, Status: metav1.ConditionTrue, Reason: "Test", Message: "admitted"})
		Expect(env.Client.Status().Update(ctx, ag)).To(Succeed())

		changed := ag.DeepCopy()
		changed.Spec.Operations[0].Type = "other"
		err := env.Client.Update(ctx, changed)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("spec.operations: Forbidden: cannot change while the Agenda runs"))

		ag.Spec.Cancel = true
		Expect(env.Client.Update(ctx, ag)).To(Succeed())
	})
})

func afterUnknown() *builders.AgendaWrapper {
	w := builders.MakeAgenda("x", "").Op("a", "t").Op("b", "t")
	w.Spec.Operations[1].After = []popv1.Requirement{{Operation: "zz", Outcome: popv1.OutcomeFailed}}
	return w
}

func mainOnFinally() *builders.AgendaWrapper {
	w := builders.MakeAgenda("x", "").Op("fin", "t").Op("b", "t").DependsOn("fin")
	w.Spec.Operations[0].Finally = true
	return w
}
