package controllers_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

// ownedBy reports whether a Pod's controller is the Agenda of that UID.
func podOwnedBy(pod *corev1.Pod, ag *popv1.Agenda) bool {
	ref := metav1.GetControllerOf(pod)
	return ref != nil && ref.UID == ag.UID
}

// deleteAndWait deletes an Agenda and waits until it is gone. envtest runs no garbage
// collector, so its Pods stay, as they do on a cluster until the collector gets to them.
func deleteAndWait(ag *popv1.Agenda) {
	GinkgoHelper()
	Expect(env.Client.Delete(ctx, ag)).To(Succeed())
	Eventually(func() error {
		return env.Client.Get(ctx, client.ObjectKeyFromObject(ag), &popv1.Agenda{})
	}, framework.Timeout, framework.Interval).ShouldNot(Succeed())
}

var _ = Describe("Pod names", func() {
	var ns string
	BeforeEach(func() {
		ns = newNamespace("names")
		sim.SetScript(podsim.Echo)
	})

	It("are unique per Agenda: render-job/encode and render/job-encode each run their own Pod", func() {
		first := builders.MakeAgenda("render-job", ns).Op("encode", "echo", "from render-job").Obj()
		second := builders.MakeAgenda("render", ns).Op("job-encode", "echo", "from render").Obj()
		first.Spec.PodCleanup, second.Spec.PodCleanup = popv1.KeepAll, popv1.KeepAll // to look at them
		createAndAdmit(first)
		waitForPhase(first, popv1.PhaseSucceeded)
		createAndAdmit(second)

		done := waitForPhase(second, popv1.PhaseSucceeded)
		Expect(opStatus(done, "job-encode").Output).To(Equal(`"from render"`))
		for _, ag := range []*popv1.Agenda{getAgenda(Default, first), done} {
			op := ag.Spec.Operations[0].Name
			var pod corev1.Pod
			Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: opStatus(ag, op).Pod}, &pod)).To(Succeed())
			Expect(podOwnedBy(&pod, ag)).To(BeTrue(), "Pod %s of %s/%s is owned by %v", pod.Name, ag.Name, op, pod.OwnerReferences)
		}
	})

	It("are unique per Agenda identity: a re-created Agenda runs while the old one's Pods remain", func() {
		old := builders.MakeAgenda("again", ns).Op("step", "echo", "old").Obj()
		old.Spec.PodCleanup = popv1.KeepAll
		createAndAdmit(old)
		old = waitForPhase(old, popv1.PhaseSucceeded)
		deleteAndWait(old)

		again := builders.MakeAgenda("again", ns).Op("step", "echo", "new").Obj()
		createAndAdmit(again)
		done := waitForPhase(again, popv1.PhaseSucceeded)
		Expect(opStatus(done, "step").Output).To(Equal(`"new"`))
		Expect(opStatus(done, "step").Pod).NotTo(Equal(opStatus(old, "step").Pod))
	})

	It("clean up by owner: a re-created Agenda's DeleteAll leaves the old one's failed Pod alone", func() {
		sim.SetScript(func(pod *corev1.Pod) podsim.Behaviour {
			if podsim.Env(pod, "POP_PAYLOAD") == `"old"` {
				return podsim.Behaviour{ExitCode: 1, Message: "kept for its logs"}
			}
			return podsim.Echo(pod)
		})
		old := builders.MakeAgenda("twice", ns).Op("step", "echo", "old").Obj()
		createAndAdmit(old)
		old = waitForPhase(old, popv1.PhaseFailed)
		oldPod := opStatus(old, "step").Pod
		deleteAndWait(old)

		again := builders.MakeAgenda("twice", ns).Op("step", "echo", "new").Obj()
		again.Spec.PodCleanup = popv1.DeleteAll
		createAndAdmit(again)
		done := waitForPhase(again, popv1.PhaseSucceeded)
		Eventually(func(g Gomega) {
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: opStatus(done, "step").Pod}, &corev1.Pod{})).NotTo(Succeed())
		}, framework.Timeout, framework.Interval).Should(Succeed(), "DeleteAll left the new Agenda's own Pod")
		Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: oldPod}, &corev1.Pod{})).To(Succeed(),
			"the new Agenda's cleanup deleted the old Agenda's failed Pod")
	})
})
