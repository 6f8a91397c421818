package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/podspec"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

// byOperation scripts Pods by operation name; others echo their payload.
func byOperation(scripts map[string]podsim.Behaviour) podsim.Script {
	return func(pod *corev1.Pod) podsim.Behaviour {
		if b, ok := scripts[pod.Labels[popv1.OperationLabel]]; ok {
			return b
		}
		return podsim.Echo(pod)
	}
}

var _ = Describe("Agenda execution", func() {
	var ns string
	BeforeEach(func() {
		ns = newNamespace("run")
		sim.SetScript(podsim.Echo)
	})

	It("runs a diamond DAG, passing outputs through every reference form, branches in parallel", func() {
		probe := `{"duration": 5.5, "streams": [{"codec": "h264"}, {"codec": "aac"}]}`
		sim.SetScript(func(pod *corev1.Pod) podsim.Behaviour {
			switch pod.Labels[popv1.OperationLabel] {
			case "probe":
				return podsim.Behaviour{Message: probe}
			case "thumb", "hash":
				b := podsim.Echo(pod)
				b.RunFor = 500 * time.Millisecond
				return b
			}
			return podsim.Echo(pod)
		})
		ag := builders.MakeAgenda("diamond", ns).Params(map[string]any{"asset": "s3://a/b.mp4"}).
			Op("probe", "echo", map[string]any{"asset": "@<agenda.params::/asset>"}).
			Op("thumb", "echo", map[string]any{"at": "@<probe.out::/duration>", "label": "codec @<probe.out::/streams/0/codec> at @<probe.out::/duration>s"}).
			Op("hash", "echo", map[string]any{"all": "@<probe.out>"}).
			Op("publish", "echo", map[string]any{
				"thumb": "@<thumb.out>", "codec": "@<hash.out::/all/streams/1/codec>",
				"missing": "@<hash.out::/nope?>", "fallback": "@<hash.out::/nope?en>",
				"id": "@<pop.agendaId>", "op": "@<pop.operationName>", "ns": "@<pop.namespace>",
				"customer": "@<pop.customerId>", "attempt": "@<pop.attempt>",
			}).Obj()
		createAndAdmit(ag)

		By("starting both branches together once probe succeeded")
		Eventually(func(g Gomega) {
			cur := getAgenda(g, ag)
			g.Expect(opStatus(cur, "thumb").State).To(Equal(popv1.OperationExecuting))
			g.Expect(opStatus(cur, "hash").State).To(Equal(popv1.OperationExecuting))
		}, framework.Timeout, framework.Interval).Should(Succeed())

		done := waitForPhase(ag, popv1.PhaseSucceeded)
		Expect(done.Status.PercentComplete).To(Equal(int32(100)))
		Expect(meta.IsStatusConditionTrue(done.Status.Conditions, popv1.AgendaSucceeded)).To(BeTrue())
		Expect(opStatus(done, "thumb").Output).To(MatchJSON(`{"at": 5.5, "label": "codec h264 at 5.5s"}`))
		Expect(opStatus(done, "publish").Output).To(MatchJSON(`{
			"thumb": {"at": 5.5, "label": "codec h264 at 5.5s"}, "codec": "aac",
			"missing": null, "fallback": "en", "id": "diamond", "op": "publish", "ns": "` + ns + `",
			"customer": "run-customer", "attempt": 1}`))
		for _, o := range done.Status.Operations {
			Expect(o.Attempts).To(Equal(int32(1)), o.Name)
		}
	})

	It("gives handler Pods the contract's environment, labels, owner and a restricted security context", func() {
		sim.SetScript(byOperation(map[string]podsim.Behaviour{"only": {RunFor: time.Hour}}))
		ag := builders.MakeAgenda("contract", ns).Op("only", "echo", map[string]any{"k": "v"}).Obj()
		createAndAdmit(ag)
		var pod corev1.Pod
		Eventually(func(g Gomega) {
			pods := podsOf(g, ag, "only")
			g.Expect(pods).To(HaveLen(1))
			pod = pods[0]
		}, framework.Timeout, framework.Interval).Should(Succeed())
		Expect(pod.Name).To(Equal(podspec.Name(getAgenda(Default, ag), "only", 1)))
		Expect(pod.Name).To(MatchRegexp(`^contract-only-[0-9a-f]{8}-1$`))
		Expect(pod.Labels).To(HaveKeyWithValue(popv1.AttemptLabel, "1"))
		Expect(pod.Labels).To(HaveKeyWithValue(popv1.CustomerLabel, "run-customer"))
		Expect(pod.OwnerReferences).To(ConsistOf(HaveField("Controller", HaveValue(BeTrue()))))
		Expect(pod.Spec.RestartPolicy).To(Equal(corev1.RestartPolicyNever))
		Expect(pod.Spec.AutomountServiceAccountToken).To(HaveValue(BeFalse()))
		Expect(pod.Spec.SecurityContext.RunAsNonRoot).To(HaveValue(BeTrue()))
		c := pod.Spec.Containers[0]
		Expect(c.SecurityContext.AllowPrivilegeEscalation).To(HaveValue(BeFalse()))
		Expect(c.SecurityContext.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))
		for name, want := range map[string]string{
			"POP_PAYLOAD": `{"k":"v"}`, "PAYLOAD": `{"k":"v"}`, "POP_AGENDA": "contract", "AGENDA_ID": "contract",
			"POP_OPERATION": "only", "OPERATION_NAME": "only", "POP_NAMESPACE": ns, "POP_CUSTOMER": "run-customer",
			"CUSTOMER_ID": "run-customer", "POP_ATTEMPT": "1",
		} {
			Expect(podsim.Env(&pod, name)).To(Equal(want), name)
		}
	})

	It("reads POP annotation outputs and progress", func() {
		ht := builders.MakeHandlerType("legacy", ns, "pop/legacy:1").ServiceAccount("reporter").
			Outputs(popv1.OutputAnnotation, 1024).Obj()
		Expect(env.Client.Create(ctx, ht)).To(Succeed())
		sim.SetScript(byOperation(map[string]podsim.Behaviour{
			"slow": {RunFor: 800 * time.Millisecond, Annotations: map[string]string{
				popv1.ReportProgressAnnotation: `{"percentComplete": 40}`,
				popv1.ReportPayloadAnnotation:  `{"frames": 240}`,
			}},
		}))
		ag := builders.MakeAgenda("legacy", ns).Op("slow", "legacy").Obj()
		createAndAdmit(ag)
		Eventually(func(g Gomega) {
			g.Expect(opStatus(getAgenda(g, ag), "slow").Progress).To(Equal(int32(40)))
		}, framework.Timeout, framework.Interval).Should(Succeed())
		done := waitForPhase(ag, popv1.PhaseSucceeded)
		Expect(opStatus(done, "slow").Output).To(MatchJSON(`{"frames": 240}`))
	})

	It("retries a failing operation with backoff, then fails the Agenda and skips dependents", func() {
		ht := builders.MakeHandlerType("flaky", ns, "pop/flaky:1").Obj()
		ht.Spec.Retries = &popv1.RetrySpec{Limit: 2, Backoff: &popv1.BackoffSpec{Initial: duration(200 * time.Millisecond), Factor: 2}}
		Expect(env.Client.Create(ctx, ht)).To(Succeed())
		sim.SetScript(byOperation(map[string]podsim.Behaviour{"bad": {ExitCode: 3, Message: "disk full"}}))
		ag := builders.MakeAgenda("retry", ns).
			Op("bad", "flaky").
			Op("after", "echo", "@<bad.out>").
			Op("independent", "echo", "x").Obj()
		createAndAdmit(ag)
		done := waitForPhase(ag, popv1.PhaseFailed)
		bad := opStatus(done, "bad")
		Expect(bad.State).To(Equal(popv1.OperationFailed))
		Expect(bad.Attempts).To(Equal(int32(3)))
		Expect(bad.Message).To(ContainSubstring("handler exited with code 3: disk full"))
		Expect(opStatus(done, "after").State).To(Equal(popv1.OperationSkipped))
		c := meta.FindStatusCondition(done.Status.Conditions, popv1.AgendaFailed)
		Expect(c.Message).To(ContainSubstring("operation bad failed"))
		Eventually(func(g Gomega) { g.Expect(podsOf(g, ag, "bad")).To(HaveLen(3)) }).Should(Succeed(), "failed Pods are kept for their logs")
	})

	It("continues independent branches under ContinueIndependent", func() {
		sim.SetScript(byOperation(map[string]podsim.Behaviour{"bad": {ExitCode: 1}}))
		ag := builders.MakeAgenda("cont", ns).
			Op("bad", "echo").Op("after", "echo", "@<bad.out>").Op("other", "echo", "fine").Obj()
		ag.Spec.FailurePolicy = popv1.ContinueIndependent
		createAndAdmit(ag)
		done := waitForPhase(ag, popv1.PhaseFailed)
		Expect(opStatus(done, "after").State).To(Equal(popv1.OperationSkipped))
		Expect(opStatus(done, "other")).To(HaveField("State", popv1.OperationSucceeded))
	})

	It("fails an attempt that runs past its timeout and deletes its Pod", func() {
		sim.SetScript(byOperation(map[string]podsim.Behaviour{"sleepy": {RunFor: time.Hour}}))
		ag := builders.MakeAgenda("timeout", ns).Op("sleepy", "echo").Obj()
		ag.Spec.Operations[0].Timeout = duration(time.Second)
		createAndAdmit(ag)
		done := waitForPhase(ag, popv1.PhaseFailed)
		Expect(opStatus(done, "sleepy").Message).To(Equal("timed out after 1s"))
		Eventually(func(g Gomega) { g.Expect(podsOf(g, ag, "sleepy")).To(BeEmpty()) }, framework.Timeout).Should(Succeed())
	})

	It("fails the whole Agenda when spec.timeout expires", func() {
		sim.SetScript(byOperation(map[string]podsim.Behaviour{"slow": {RunFor: time.Hour}}))
		ag := builders.MakeAgenda("agenda-timeout", ns).Op("slow", "echo").Op("later", "echo", "@<slow.out>").Obj()
		ag.Spec.Timeout = duration(time.Second)
		createAndAdmit(ag)
		done := waitForPhase(ag, popv1.PhaseFailed)
		c := meta.FindStatusCondition(done.Status.Conditions, popv1.AgendaFailed)
		Expect(c.Reason).To(Equal(popv1.ReasonTimeout))
		Expect(opStatus(done, "slow").State).To(Equal(popv1.OperationCancelled))
		Expect(opStatus(done, "later").State).To(Equal(popv1.OperationCancelled))
	})

	It("fails an attempt stuck Pending, saying why", func() {
		ht := builders.MakeHandlerType("unpullable", ns, "nowhere/image:1").Obj()
		ht.Spec.PendingTimeout = duration(time.Second)
		Expect(env.Client.Create(ctx, ht)).To(Succeed())
		sim.SetScript(byOperation(map[string]podsim.Behaviour{"stuck": {StayPending: "ImagePullBackOff"}}))
		ag := builders.MakeAgenda("stuck", ns).Op("stuck", "unpullable").Obj()
		createAndAdmit(ag)
		done := waitForPhase(ag, popv1.PhaseFailed)
		Expect(opStatus(done, "stuck").Message).To(And(ContainSubstring("Pod stayed Pending for"), ContainSubstring("ImagePullBackOff")))
	})

	It("counts a Pod deleted by someone else as a failed attempt and retries it", func() {
		sim.SetScript(byOperation(map[string]podsim.Behaviour{"victim": {RunFor: 2 * time.Second}}))
		ag := builders.MakeAgenda("evicted", ns).Op("victim", "echo", "v").Obj()
		ag.Spec.Operations[0].Retries = ptr.To[int32](1)
		createAndAdmit(ag)
		var victim string
		Eventually(func(g Gomega) {
			o := opStatus(getAgenda(g, ag), "victim")
			g.Expect(o.State).To(Equal(popv1.OperationExecuting))
			victim = o.Pod
		}, framework.Timeout, framework.Interval).Should(Succeed())
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: victim}}
		Expect(env.Client.Delete(ctx, pod)).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseSucceeded)
		Expect(opStatus(done, "victim").Attempts).To(Equal(int32(2)))
	})

	It("cancels a running Agenda: Pods deleted, operations Cancelled", func() {
		sim.SetScript(byOperation(map[string]podsim.Behaviour{"long": {RunFor: time.Hour}}))
		ag := builders.MakeAgenda("cancel", ns).Op("long", "echo").Op("next", "echo", "@<long.out>").Obj()
		createAndAdmit(ag)
		Eventually(func(g Gomega) { g.Expect(podsOf(g, ag, "long")).To(HaveLen(1)) }, framework.Timeout).Should(Succeed())
		Eventually(func(g Gomega) {
			cur := getAgenda(g, ag)
			cur.Spec.Cancel = true
			g.Expect(env.Client.Update(ctx, cur)).To(Succeed())
		}, framework.Timeout).Should(Succeed())
		done := waitForPhase(ag, popv1.PhaseCancelled)
		Expect(opStatus(done, "long").State).To(Equal(popv1.OperationCancelled))
		Expect(opStatus(done, "next").State).To(Equal(popv1.OperationCancelled))
		Expect(meta.IsStatusConditionTrue(done.Status.Conditions, popv1.AgendaCancelled)).To(BeTrue())
		Eventually(func(g Gomega) { g.Expect(podsOf(g, ag, "")).To(BeEmpty()) }, framework.Timeout).Should(Succeed())
	})

	It("deletes a finished Agenda after ttlSecondsAfterFinished", func() {
		ag := builders.MakeAgenda("ttl", ns).Op("a", "echo", 1).Obj()
		ag.Spec.TTLSecondsAfterFinished = ptr.To[int32](1)
		createAndAdmit(ag)
		Eventually(func(g Gomega) {
			var list popv1.AgendaList
			g.Expect(env.Client.List(ctx, &list)).To(Succeed())
			for _, item := range list.Items {
				g.Expect(item.Namespace + "/" + item.Name).NotTo(Equal(ns + "/ttl"))
			}
		}, framework.Timeout, framework.Interval).Should(Succeed())
	})
})
