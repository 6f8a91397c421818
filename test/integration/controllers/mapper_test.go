package controllers_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
)

var _ = Describe("The operationNames mapper (POP's operationName)", func() {
	It("sends an Agenda with an operation of a listed name to its Insight, the others elsewhere", func() {
		ns := newNamespace("mapper")
		encodes := localInsight("encodes", ns).Capacity(5).Obj()
		encodes.Spec.OperationNames = []string{"encode", "transcode"}
		encodes.Spec.Precedence = 10 // would win over the catch-all for any Agenda it matched
		rest := localInsight("rest", ns).Capacity(5).Obj()
		rest.Spec.Default = true
		Expect(env.Client.Create(ctx, encodes)).To(Succeed())
		Expect(env.Client.Create(ctx, rest)).To(Succeed())

		named := builders.MakeAgenda("with-encode", ns).Op("probe", "echo", 1).Op("transcode", "echo", "@<probe.out>").Obj()
		typed := builders.MakeAgenda("type-not-name", ns).Op("probe", "encode-type", 1).Obj() // a type called like a name
		other := builders.MakeAgenda("without", ns).Op("probe", "echo", 1).Op("encoder", "echo", 2).Obj()
		Expect(env.Client.Create(ctx, builders.MakeHandlerType("encode-type", ns, "img:1").Obj())).To(Succeed())
		for _, ag := range []*popv1.Agenda{named, typed, other} {
			Expect(env.Client.Create(ctx, ag)).To(Succeed())
		}
		Expect(waitForPhase(named, popv1.PhaseSucceeded).Status.Insight).To(Equal(ns + "/encodes"))
		Expect(waitForPhase(typed, popv1.PhaseSucceeded).Status.Insight).To(Equal(ns + "/rest"))
		Expect(waitForPhase(other, popv1.PhaseSucceeded).Status.Insight).To(Equal(ns+"/rest"), "a name that only starts like a listed one")
	})
})
