package controllers_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/podsim"
)

var _ = Describe("Optional references", func() {
	It("run the reader of a failed operation under ContinueIndependent, with the defaults", func() {
		ns := newNamespace("optional")
		sim.SetScript(byOperation(map[string]podsim.Behaviour{"probe": {ExitCode: 1, Message: "no such file"}}))
		DeferCleanup(func() { sim.SetScript(podsim.Echo) })
		ag := builders.MakeAgenda("soft", ns).Op("probe", "echo", 1).
			Op("subtitles", "echo", map[string]any{"lang": "@<probe.out::/lang?en>", "probe": "@<probe.out?>"}).
			Op("encode", "echo", "@<probe.out::/codec>").Obj()
		ag.Spec.FailurePolicy = popv1.ContinueIndependent
		createAndAdmit(ag)

		done := waitForPhase(ag, popv1.PhaseFailed)
		Expect(opStatus(done, "probe").State).To(Equal(popv1.OperationFailed))
		Expect(opStatus(done, "subtitles").State).To(Equal(popv1.OperationSucceeded))
		Expect(opStatus(done, "subtitles").Output).To(MatchJSON(`{"lang": "en", "probe": null}`))
		Expect(opStatus(done, "encode").State).To(Equal(popv1.OperationSkipped))
	})
})
