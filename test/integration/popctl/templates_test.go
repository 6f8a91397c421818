package popctl_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
)

var _ = Describe("popctl and AgendaTemplates", func() {
	var ns string
	BeforeEach(func() {
		var err error
		ns, err = env.CreateNamespace(ctx, "clitpl", nil)
		Expect(err).NotTo(HaveOccurred())
	})

	It("submits --template with -p arguments parsed as JSON or strings, and lists templates", func() {
		out, _, err := run(ns, "submit", "--template", "encode", "--name", "clip", "-p", "source=s3://in/a.mov", "-p", "bitrates=[800,1600]")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring("agenda.pop.dev/clip created in " + ns))
		var ag popv1.Agenda
		Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "clip"}, &ag)).To(Succeed())
		Expect(ag.Spec.Template).To(Equal("encode"))
		Expect(string(ag.Spec.Arguments.Raw)).To(MatchJSON(`{"source":"s3://in/a.mov","bitrates":[800,1600]}`))
		Expect(ag.Spec.Operations).To(BeEmpty())

		out, _, err = run(ns, "templates")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(Equal("No AgendaTemplates.\n"))
		Expect(c.Create(ctx, &popv1.AgendaTemplate{ObjectMeta: metav1.ObjectMeta{Name: "encode", Namespace: ns},
			Spec: popv1.AgendaTemplateSpec{
				Parameters: []popv1.TemplateParameter{{Name: "source", Type: "string", Required: true}},
				Operations: []popv1.Operation{{Name: "encode", Type: "echo", Payload: builders.JSON("@<agenda.params::/source>")}}}})).To(Succeed())
		out, _, err = run(ns, "templates")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(MatchRegexp(`NAMESPACE +NAME +PARAMETERS +OPERATIONS +AGE\n` + ns + ` +encode +source:string\* +1 +`))
	})

	It("refuses a -p without = and --template with -f, sending nothing", func() {
		_, _, err := run(ns, "submit", "--template", "encode", "-p", "source")
		Expect(err).To(MatchError(ContainSubstring(`-p "source": want key=value`)))
		_, _, err = run(ns, "submit", "--template", "encode", "-f", "x.yaml")
		Expect(err).To(MatchError(ContainSubstring("none of the others can be")))
		var list popv1.AgendaList
		Expect(c.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
		Expect(list.Items).To(BeEmpty())
	})
})
