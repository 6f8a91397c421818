package controllers_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

var _ = Describe("Tenant isolation in the operator", func() {
	var nsA, nsB string
	BeforeEach(func() {
		nsA, nsB = newNamespace("iso-a"), newNamespace("iso-b")
		sim.SetScript(podsim.Echo)
	})

	It("never uses another customer's HandlerType", func() {
		Expect(env.Client.Create(ctx, builders.MakeHandlerType("b-only", nsB, "img").Obj())).To(Succeed())
		ag := builders.MakeAgenda("borrow", nsA).Op("x", "b-only").Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		Eventually(func(g Gomega) {
			c := meta.FindStatusCondition(getAgenda(g, ag).Status.Conditions, popv1.AgendaAccepted)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(popv1.ReasonHandlerTypeMissing))
			g.Expect(c.Message).To(ContainSubstring(`HandlerType "b-only" not found in namespace "` + nsA + `"`))
		}, framework.Timeout, framework.Interval).Should(Succeed())
	})

	It("refuses an Insight that does not select the Agenda's namespace, even when named", func() {
		ins := builders.MakeInsight("b-queue", nsB).Obj()
		ins.Spec.NamespaceSelector = nil // only nsB
		Expect(env.Client.Create(ctx, ins)).To(Succeed())
		ag := builders.MakeAgenda("jump", nsA).Op("x", "echo").Obj()
		ag.Spec.Insight = nsB + "/b-queue"
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		Eventually(func(g Gomega) {
			c := meta.FindStatusCondition(getAgenda(g, ag).Status.Conditions, popv1.AgendaQueued)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(popv1.ReasonNoMatchingInsight))
			g.Expect(c.Message).To(Equal("Insight " + nsB + "/b-queue does not select namespace " + nsA))
		}, framework.Timeout, framework.Interval).Should(Succeed())
		Consistently(func(g Gomega) bool {
			return popv1.IsAdmitted(getAgenda(g, ag))
		}, "1s", framework.Interval).Should(BeFalse())
	})

	It("runs Pods only in the Agenda's namespace, labelled with the namespace's customer, not the Agenda's", func() {
		customers := make(chan string, 8)
		sim.SetScript(func(pod *corev1.Pod) podsim.Behaviour {
			if pod.Namespace == nsA {
				customers <- pod.Labels[popv1.CustomerLabel] + " " + podsim.Env(pod, "POP_CUSTOMER")
			}
			return podsim.Echo(pod)
		})
		ag := builders.MakeAgenda("forger", nsA).Label(popv1.CustomerLabel, "iso-b-customer").Op("x", "echo", 1).Obj()
		createAndAdmit(ag)
		waitForPhase(ag, popv1.PhaseSucceeded)
		Eventually(customers).Should(Receive(Equal("iso-a-customer iso-a-customer")))
		Expect(sim.Started()).To(ContainElement(MatchRegexp(`^` + nsA + `/forger-x-[0-9a-f]{8}-1$`)))
		Expect(sim.Started()).NotTo(ContainElement(HavePrefix(nsB + "/")))
	})
})
