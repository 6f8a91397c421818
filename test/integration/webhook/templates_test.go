package webhook_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
)

func template(name, ns string) *popv1.AgendaTemplate {
	return &popv1.AgendaTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: popv1.AgendaTemplateSpec{
			Parameters: []popv1.TemplateParameter{
				{Name: "source", Type: "string", Required: true},
				{Name: "bitrate", Type: "integer", Default: builders.JSON(800)},
			},
			Operations: []popv1.Operation{{Name: "encode", Type: "t", Payload: builders.JSON("@<agenda.params::/source>")}},
		},
	}
}

func usingTemplate(name, template string, args any) *popv1.Agenda {
	ag := builders.MakeAgenda(name, "").Obj()
	ag.Spec.Template = template
	if args != nil {
		ag.Spec.Arguments = builders.JSON(args)
	}
	return ag
}

var _ = Describe("AgendaTemplate webhook", func() {
	var ns string
	BeforeEach(func() {
		var err error
		ns, err = env.CreateNamespace(ctx, "whtpl", nil)
		Expect(err).NotTo(HaveOccurred())
	})

	expectRefused := func(err error, fragments ...string) {
		GinkgoHelper()
		Expect(err).To(HaveOccurred(), "the webhook let it in")
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want 422 Invalid, got %v", err)
		for _, f := range fragments {
			Expect(err.Error()).To(ContainSubstring(f))
		}
	}

	It("admits a valid template", func() {
		Expect(env.Client.Create(ctx, template("ok", ns))).To(Succeed())
	})

	DescribeTable("denies a template",
		func(change func(*popv1.AgendaTemplate), fragments ...string) {
			tpl := template("bad", ns)
			change(tpl)
			expectRefused(env.Client.Create(ctx, tpl), fragments...)
		},
		Entry("a required parameter with a default", func(t *popv1.AgendaTemplate) {
			t.Spec.Parameters[0].Default = builders.JSON("x")
		}, `spec.parameters[0].default: Invalid value`, "a required parameter has no default"),
		Entry("a default not of its type", func(t *popv1.AgendaTemplate) {
			t.Spec.Parameters[1].Default = builders.JSON("fast")
		}, `spec.parameters[1].default`, "must be of type integer"),
		Entry("an operations graph with an unknown dependency", func(t *popv1.AgendaTemplate) {
			t.Spec.Operations[0].DependsOn = []string{"zz"}
		}, `spec.operations[0].dependsOn[0]: Invalid value: "zz": unknown operation "zz"`),
		Entry("a malformed reference", func(t *popv1.AgendaTemplate) {
			t.Spec.Operations[0].Payload = builders.JSON("@<agenda.params")
		}, `spec.operations[0].payload`, "unterminated reference"),
	)

	DescribeTable("denies an Agenda",
		func(ag *popv1.Agenda, fragments ...string) {
			Expect(env.Client.Create(ctx, template("encode", ns))).To(Succeed())
			ag.Namespace = ns
			expectRefused(env.Client.Create(ctx, ag), fragments...)
		},
		Entry("a required argument left out", usingTemplate("x", "encode", map[string]any{"bitrate": 1}),
			`spec.arguments.source: Required value`),
		Entry("an argument of the wrong type", usingTemplate("x", "encode", map[string]any{"source": "a", "bitrate": "fast"}),
			`spec.arguments.bitrate: Invalid value`, "must be of type integer"),
		Entry("an unknown argument", usingTemplate("x", "encode", map[string]any{"source": "a", "codec": "h264"}),
			`spec.arguments.codec: Invalid value`, "unknown parameter; the template declares source, bitrate"),
		Entry("both operations and a template", func() *popv1.Agenda {
			ag := usingTemplate("x", "encode", map[string]any{"source": "a"})
			ag.Spec.Operations = []popv1.Operation{{Name: "a", Type: "t"}}
			return ag
		}(), `spec.operations: Forbidden: give operations or spec.template, not both`),
		Entry("arguments without a template", func() *popv1.Agenda {
			ag := builders.MakeAgenda("x", "").Op("a", "t").Obj()
			ag.Spec.Arguments = builders.JSON(map[string]any{"source": "a"})
			return ag
		}(), `spec.arguments: Forbidden: only with spec.template`),
	)

	It("admits an Agenda naming a missing template (the controller waits for it), and binds the operator namespace's", func() {
		ag := usingTemplate("early", "nothing-yet", map[string]any{"anything": 1})
		ag.Namespace = ns
		Expect(env.Client.Create(ctx, ag)).To(Succeed())

		Expect(client.IgnoreAlreadyExists(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: systemNamespace}}))).To(Succeed())
		shared := template("shared-"+ns, systemNamespace)
		Expect(env.Client.Create(ctx, shared)).To(Succeed())
		DeferCleanup(func() { Expect(env.Client.Delete(ctx, shared)).To(Succeed()) })
		bad := usingTemplate("bad", shared.Name, map[string]any{})
		bad.Namespace = ns
		expectRefused(env.Client.Create(ctx, bad), `spec.arguments.source: Required value`)
	})

	It("refuses to change the template or arguments once resolved", func() {
		Expect(env.Client.Create(ctx, template("encode", ns))).To(Succeed())
		ag := usingTemplate("resolved", "encode", map[string]any{"source": "a"})
		ag.Namespace = ns
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		By("resolving it as the controller does: operations with the annotation")
		ag.Spec.Operations = []popv1.Operation{{Name: "encode", Type: "t"}}
		ag.Annotations = map[string]string{popv1.TemplateAnnotation: `{"name":"encode"}`}
		Expect(env.Client.Update(ctx, ag)).To(Succeed())

		ag.Spec.Arguments = builders.JSON(map[string]any{"source": "b"})
		expectRefused(env.Client.Update(ctx, ag), `spec.arguments: Forbidden: cannot change once the template was resolved`)
	})

	It("refuses operations added to an unresolved templated Agenda without the annotation", func() {
		Expect(env.Client.Create(ctx, template("encode", ns))).To(Succeed())
		ag := usingTemplate("sneaky", "encode", map[string]any{"source": "a"})
		ag.Namespace = ns
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		ag.Spec.Operations = []popv1.Operation{{Name: "other", Type: "t"}}
		expectRefused(env.Client.Update(ctx, ag), `spec.operations: Forbidden: give operations or spec.template, not both`)
	})
})
