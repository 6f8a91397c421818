package controllers_test

import (
	"encoding/json"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

// encodeTemplate declares a required source and a defaulted bitrate; its one operation
// echoes both, so its output shows what the Agenda's params held.
func encodeTemplate(name, ns string, bitrate int) *popv1.AgendaTemplate {
	return &popv1.AgendaTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: popv1.AgendaTemplateSpec{
			Parameters: []popv1.TemplateParameter{
				{Name: "source", Type: "string", Required: true},
				{Name: "bitrate", Type: "integer", Default: builders.JSON(bitrate)},
			},
			Operations: []popv1.Operation{{Name: "encode", Type: "echo",
				Payload: builders.JSON(map[string]any{"src": "@<agenda.params::/source>", "kbps": "@<agenda.params::/bitrate>"})}},
			FailurePolicy: popv1.ContinueIndependent,
		},
	}
}

// templated is an Agenda naming a template with arguments.
func templated(name, ns, template string, args map[string]any) *popv1.Agenda {
	ag := builders.MakeAgenda(name, ns).Obj()
	ag.Spec.Template = template
	if args != nil {
		ag.Spec.Arguments = builders.JSON(args)
	}
	return ag
}

func templateRef(ag *popv1.Agenda) popv1.TemplateRef {
	GinkgoHelper()
	var ref popv1.TemplateRef
	Expect(json.Unmarshal([]byte(ag.Annotations[popv1.TemplateAnnotation]), &ref)).To(Succeed(), "annotation: %v", ag.Annotations)
	return ref
}

var _ = Describe("AgendaTemplates", func() {
	var ns string
	BeforeEach(func() {
		ns = newNamespace("tpl")
		Expect(env.Client.Create(ctx, localInsight("fifo", ns).Obj())).To(Succeed())
	})

	It("runs a templated Agenda with its arguments and defaults in its spec, and a later template change changes neither a finished nor a running one", func() {
		tpl := encodeTemplate("encode", ns, 800)
		Expect(env.Client.Create(ctx, tpl)).To(Succeed())
		ag := templated("clip", ns, "encode", map[string]any{"source": "s3://in/a.mov"})
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseSucceeded)
		Expect(done.Spec.Operations).To(HaveLen(1))
		Expect(string(done.Spec.Params.Raw)).To(MatchJSON(`{"source":"s3://in/a.mov","bitrate":800}`))
		Expect(done.Spec.FailurePolicy).To(Equal(popv1.ContinueIndependent), "the template's failurePolicy")
		Expect(opStatus(done, "encode").Output).To(MatchJSON(`{"src":"s3://in/a.mov","kbps":800}`))
		ref := templateRef(done)
		Expect(ref).To(Equal(popv1.TemplateRef{Namespace: ns, Name: "encode", UID: string(tpl.UID), ResourceVersion: tpl.ResourceVersion}))

		By("changing the template: its operations and default")
		Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(tpl), tpl)).To(Succeed())
		tpl.Spec.Parameters[1].Default = builders.JSON(1600)
		tpl.Spec.Operations = append(tpl.Spec.Operations, popv1.Operation{Name: "extra", Type: "echo", Payload: builders.JSON(1)})
		Expect(env.Client.Update(ctx, tpl)).To(Succeed())
		Consistently(func(g Gomega) {
			cur := getAgenda(g, ag)
			g.Expect(cur.Spec.Operations).To(HaveLen(1))
			g.Expect(string(cur.Spec.Params.Raw)).To(MatchJSON(`{"source":"s3://in/a.mov","bitrate":800}`))
			g.Expect(cur.Status.Phase).To(Equal(popv1.PhaseSucceeded))
		}, 2*time.Second, framework.Interval).Should(Succeed())

		By("a new Agenda from the changed template gets the new version")
		again := templated("clip2", ns, "encode", map[string]any{"source": "b"})
		Expect(env.Client.Create(ctx, again)).To(Succeed())
		done2 := waitForPhase(again, popv1.PhaseSucceeded)
		Expect(done2.Spec.Operations).To(HaveLen(2))
		Expect(string(done2.Spec.Params.Raw)).To(MatchJSON(`{"source":"b","bitrate":1600}`))
		Expect(templateRef(done2).ResourceVersion).To(Equal(tpl.ResourceVersion))
	})

	It("is matched by the scheduler on its resolved operations and params", func() {
		own := newNamespace("tplmatch")
		byParam := localInsight("by-param", own)
		byParam.Spec.OperationNames = []string{"encode"}
		byParam.Spec.Params = []string{"source=s3://match"}
		Expect(env.Client.Create(ctx, byParam.Obj())).To(Succeed())
		Expect(env.Client.Create(ctx, encodeTemplate("encode", own, 1))).To(Succeed())
		ag := templated("matched", own, "encode", map[string]any{"source": "s3://match"})
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseSucceeded)
		Expect(done.Status.Insight).To(Equal(own + "/by-param"))
	})

	It("keeps a running Agenda's operations when its template changes", func() {
		sim.SetScript(podsim.EchoAfter(2 * time.Second))
		DeferCleanup(func() { sim.SetScript(podsim.Echo) })
		tpl := encodeTemplate("slow", ns, 1)
		Expect(env.Client.Create(ctx, tpl)).To(Succeed())
		ag := templated("run", ns, "slow", map[string]any{"source": "x"})
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		waitForPhase(ag, popv1.PhaseRunning)
		Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(tpl), tpl)).To(Succeed())
		tpl.Spec.Operations[0].Type = "other"
		Expect(env.Client.Update(ctx, tpl)).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseSucceeded)
		Expect(done.Spec.Operations[0].Type).To(Equal("echo"))
	})

	It("waits for a missing template, and runs once it is created", func() {
		ag := templated("early", ns, "later", map[string]any{"source": "x"})
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		Eventually(func(g Gomega) {
			c := meta.FindStatusCondition(getAgenda(g, ag).Status.Conditions, popv1.AgendaAccepted)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(popv1.ReasonTemplateMissing))
			g.Expect(c.Message).To(ContainSubstring(`AgendaTemplate "later" not found in namespace "` + ns + `" or "pop-system"`))
		}, framework.Timeout, framework.Interval).Should(Succeed())
		Expect(env.Client.Create(ctx, encodeTemplate("later", ns, 5))).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseSucceeded)
		Expect(opStatus(done, "encode").Output).To(MatchJSON(`{"src":"x","kbps":5}`))
	})

	It("fails an Agenda whose template never comes, after the launch wait, with the reason", func() {
		ag := templated("never", ns, "nowhere", nil)
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseFailed)
		failed := meta.FindStatusCondition(done.Status.Conditions, popv1.AgendaFailed)
		Expect(failed.Reason).To(Equal(popv1.ReasonTemplateMissing))
		Expect(failed.Message).To(ContainSubstring(`AgendaTemplate "nowhere" not found`))
		Expect(done.Status.CompletionTime.Sub(done.CreationTimestamp.Time)).To(BeNumerically(">=", launchWait-time.Second))
		Expect(done.Spec.Operations).To(BeEmpty())
	})

	It("uses a cluster-wide template from the operator namespace, the Agenda's own namespace first", func() {
		shared := encodeTemplate("shared-"+ns, operatorNamespace, 42)
		Expect(env.Client.Create(ctx, shared)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(env.Client.Delete(ctx, shared))).To(Succeed()) })
		ag := templated("global", ns, shared.Name, map[string]any{"source": "g"})
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseSucceeded)
		Expect(opStatus(done, "encode").Output).To(MatchJSON(`{"src":"g","kbps":42}`))
		Expect(templateRef(done).Namespace).To(Equal(operatorNamespace))

		Expect(env.Client.Create(ctx, encodeTemplate(shared.Name, ns, 7))).To(Succeed())
		local := templated("local", ns, shared.Name, map[string]any{"source": "l"})
		Expect(env.Client.Create(ctx, local)).To(Succeed())
		doneLocal := waitForPhase(local, popv1.PhaseSucceeded)
		Expect(opStatus(doneLocal, "encode").Output).To(MatchJSON(`{"src":"l","kbps":7}`))
		Expect(templateRef(doneLocal).Namespace).To(Equal(ns))
	})

	It("reports arguments that do not fit as InvalidSpec with the field path, and runs once they are fixed", func() {
		Expect(env.Client.Create(ctx, encodeTemplate("encode", ns, 1))).To(Succeed())
		ag := templated("bad", ns, "encode", map[string]any{"bitrate": 3})
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		Eventually(func(g Gomega) {
			c := meta.FindStatusCondition(getAgenda(g, ag).Status.Conditions, popv1.AgendaAccepted)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(popv1.ReasonInvalidSpec))
			g.Expect(c.Message).To(ContainSubstring("spec.arguments.source: Required value"))
		}, framework.Timeout, framework.Interval).Should(Succeed())
		Eventually(func() error {
			cur := getAgenda(Default, ag)
			cur.Spec.Arguments = builders.JSON(map[string]any{"source": "fixed", "bitrate": 3})
			return env.Client.Update(ctx, cur)
		}, framework.Timeout, framework.Interval).Should(Succeed())
		done := waitForPhase(ag, popv1.PhaseSucceeded)
		Expect(opStatus(done, "encode").Output).To(MatchJSON(`{"src":"fixed","kbps":3}`))
	})
})
