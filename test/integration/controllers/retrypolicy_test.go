package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/podsim"
)

var _ = Describe("Retry policy", func() {
	It("ends an operation at once on an exit code it never retries, and retries another", func() {
		ns := newNamespace("retrypol")
		sim.SetScript(func(pod *corev1.Pod) podsim.Behaviour {
			switch {
			case pod.Labels[popv1.OperationLabel] == "bad-input":
				return podsim.Behaviour{ExitCode: 3, Message: "cannot parse"}
			case pod.Labels[popv1.AttemptLabel] == "1":
				return podsim.Behaviour{ExitCode: 1, Message: "flaky"}
			}
			return podsim.Echo(pod)
		})
		DeferCleanup(func() { sim.SetScript(podsim.Echo) })
		ht := builders.MakeHandlerType("retrying", ns, "img:1").Obj()
		ht.Spec.Retries = &popv1.RetrySpec{Limit: 3, Backoff: &popv1.BackoffSpec{Initial: duration(100 * time.Millisecond)}}
		Expect(env.Client.Create(ctx, ht)).To(Succeed())
		Expect(env.Client.Create(ctx, localInsight("fifo", ns).Obj())).To(Succeed())
		policy := &popv1.RetryPolicy{NeverRetryExitCodes: []int32{3}}
		w := builders.MakeAgenda("policy", ns).Op("flaky", "retrying", 1).Op("bad-input", "retrying", 2)
		w.Spec.FailurePolicy = popv1.ContinueIndependent
		w.Spec.Operations[0].RetryPolicy, w.Spec.Operations[1].RetryPolicy = policy, policy
		ag := w.Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseFailed)
		Expect(attempts(done)).To(Equal(map[string]int32{"flaky": 2, "bad-input": 1}))
		Expect(opStatus(done, "flaky").State).To(Equal(popv1.OperationSucceeded))
		Expect(opStatus(done, "bad-input").Message).To(Equal("handler exited with code 3: cannot parse (ExitCode failure: not retried by its retryPolicy)"))
	})
})
