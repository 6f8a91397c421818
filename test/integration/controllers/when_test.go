package controllers_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/podsim"
)

var _ = Describe("when conditions", func() {
	var ns string
	BeforeEach(func() {
		ns = newNamespace("when")
		sim.SetScript(podsim.Echo)
		Expect(env.Client.Create(ctx, localInsight("fifo", ns).Obj())).To(Succeed())
	})

	It("skips an operation whose condition is false, and its dependent, without failing the Agenda", func() {
		ag := builders.MakeAgenda("cond", ns).Params(map[string]any{"limit": 5}).
			Op("scan", "echo", map[string]any{"count": 3}).
			Op("big", "echo", "big").When("ops.scan.output.count > params.limit").
			Op("after-big", "echo", "@<big.out>").
			Op("small", "echo", "small").When(`ops["scan"].phase == "Succeeded" && ops.scan.output.count <= params.limit`).Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseSucceeded)
		Expect(attempts(done)).To(Equal(map[string]int32{"scan": 1, "big": 0, "after-big": 0, "small": 1}))
		Expect(opStatus(done, "big").State).To(Equal(popv1.OperationSkipped))
		Expect(opStatus(done, "big").Message).To(Equal("skipped: its when condition is false"))
		Expect(opStatus(done, "after-big").State).To(Equal(popv1.OperationSkipped))
		Expect(opStatus(done, "small").Output).To(Equal(`"small"`))
		Expect(done.Status.PercentComplete).To(BeEquivalentTo(100))
		expectCondition(Default, done, popv1.AgendaSucceeded, metav1.ConditionTrue, popv1.ReasonAllOperationsSucceed)
		Expect(podsOf(Default, ag, "big")).To(BeEmpty())
	})

	It("fails the operation, and so the Agenda, when its condition cannot be evaluated", func() {
		ag := builders.MakeAgenda("broken", ns).
			Op("scan", "echo", map[string]any{"count": 3}).
			Op("next", "echo", 1).When("ops.scan.output.segments > 1").Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseFailed)
		Expect(opStatus(done, "next").State).To(Equal(popv1.OperationFailed))
		Expect(opStatus(done, "next").Message).To(HavePrefix("evaluating when: "))
		Expect(opStatus(done, "next").Message).To(ContainSubstring("segments"))
	})
})
