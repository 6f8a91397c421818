package controllers_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/podsim"
)

var _ = Describe("after outcomes and finally", func() {
	var ns string
	BeforeEach(func() {
		ns = newNamespace("outcome")
		sim.SetScript(func(pod *corev1.Pod) podsim.Behaviour {
			if pod.Labels[popv1.OperationLabel] == "deploy" {
				return podsim.Behaviour{ExitCode: 1, Message: "deploy broke"}
			}
			return podsim.Echo(pod)
		})
		DeferCleanup(func() { sim.SetScript(podsim.Echo) })
		Expect(env.Client.Create(ctx, localInsight("fifo", ns).Obj())).To(Succeed())
	})

	It("runs the compensation of a failure under FailFast, skips the success path, runs finally last, and fails by the main operations", func() {
		w := builders.MakeAgenda("release", ns).Op("deploy", "echo", 1).Op("rollback", "echo", "undo").
			Op("announce", "echo", "done").DependsOn("deploy").Op("cleanup", "echo", "tidy").Op("audit", "echo", "log")
		w.Spec.Operations[1].After = []popv1.Requirement{{Operation: "deploy", Outcome: popv1.OutcomeFailed}}
		w.Spec.Operations[3].Finally = true
		w.Spec.Operations[4].After = []popv1.Requirement{{Operation: "announce", Outcome: popv1.OutcomeSkipped}}
		w.Spec.PodCleanup = popv1.KeepAll // the finally Pod is read after the end
		ag := w.Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseFailed)
		Expect(attempts(done)).To(Equal(map[string]int32{"deploy": 1, "rollback": 1, "announce": 0, "cleanup": 1, "audit": 1}))
		states := map[string]popv1.OperationState{}
		for _, o := range done.Status.Operations {
			states[o.Name] = o.State
		}
		Expect(states).To(Equal(map[string]popv1.OperationState{"deploy": popv1.OperationFailed, "rollback": popv1.OperationSucceeded,
			"announce": popv1.OperationSkipped, "cleanup": popv1.OperationSucceeded, "audit": popv1.OperationSucceeded}))
		cleanup := podsOf(Default, ag, "cleanup")
		Expect(cleanup).To(HaveLen(1))
		for _, other := range []string{"deploy", "rollback", "audit"} {
			op := opStatus(done, other)
			Expect(op.CompletionTime).NotTo(BeNil(), other)
			Expect(cleanup[0].CreationTimestamp.Time).NotTo(BeTemporally("<", op.CompletionTime.Time), "finally started before %s ended", other)
		}
	})

	It("ends Succeeded when only a finally operation failed, and skips a compensation not needed", func() {
		w := builders.MakeAgenda("fine", ns).Op("build", "echo", 1).Op("rollback", "echo", "undo").Op("deploy", "echo", "x")
		w.Spec.Operations[1].After = []popv1.Requirement{{Operation: "build", Outcome: popv1.OutcomeFailed}}
		w.Spec.Operations[2].Finally = true // "deploy" fails in the script
		ag := w.Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseSucceeded)
		Expect(opStatus(done, "rollback").State).To(Equal(popv1.OperationSkipped))
		Expect(opStatus(done, "rollback").Message).To(Equal("skipped: after requires build to end Failed, it ended Succeeded"))
		Expect(opStatus(done, "deploy").State).To(Equal(popv1.OperationFailed))
	})
})
