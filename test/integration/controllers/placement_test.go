package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/pop-operator/pop/internal/podspec"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

func resources(cpu, memory string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)},
	}
}

var _ = Describe("A HandlerType's settings reach the Pod", func() {
	It("passes image, command, args, env, resources, placement, account and timeout; an operation's resources and timeout override", func() {
		ns := newNamespace("placement")
		sim.SetScript(func(pod *corev1.Pod) podsim.Behaviour { return podsim.Behaviour{RunFor: time.Hour} })
		DeferCleanup(func() { sim.SetScript(podsim.Echo) })
		Expect(env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "encoder", Namespace: ns}})).To(Succeed())
		affinity := &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
				Key: "gpu", Operator: corev1.NodeSelectorOpIn, Values: []string{"a100", "h100"}}}}}}}}
		tolerations := []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "media", Effect: corev1.TaintEffectNoSchedule}}
		ht := builders.MakeHandlerType("encode", ns, "registry.example/encode:1.2").Env("PRESET", "fast").ServiceAccount("encoder").Obj()
		ht.Spec.ImagePullPolicy = corev1.PullIfNotPresent
		ht.Spec.Command, ht.Spec.Args = []string{"/encode"}, []string{"--threads", "4"}
		ht.Spec.Resources = resources("2", "4Gi")
		ht.Spec.NodeSelector = map[string]string{"pool": "media"}
		ht.Spec.Tolerations, ht.Spec.Affinity = tolerations, affinity
		ht.Spec.Timeout = duration(10 * time.Minute)
		Expect(env.Client.Create(ctx, ht)).To(Succeed())
		ag := builders.MakeAgenda("placed", ns).Op("default", "encode", 1).Op("big", "encode", 2).Obj()
		ag.Spec.Operations[1].Resources = ptr.To(resources("8", "16Gi"))
		ag.Spec.Operations[1].Timeout = duration(90 * time.Second)
		createAndAdmit(ag)

		pods := map[string]corev1.Pod{}
		Eventually(func(g Gomega) {
			for _, op := range []string{"default", "big"} {
				list := podsOf(g, ag, op)
				g.Expect(list).To(HaveLen(1))
				pods[op] = list[0]
			}
		}, framework.Timeout, framework.Interval).Should(Succeed())
		for op, want := range map[string]struct {
			res      corev1.ResourceRequirements
			deadline int64
		}{"default": {resources("2", "4Gi"), 600}, "big": {resources("8", "16Gi"), 90}} {
			spec := pods[op].Spec
			Expect(spec.NodeSelector).To(Equal(map[string]string{"pool": "media"}), op)
			Expect(spec.Tolerations).To(ContainElement(tolerations[0]), op)
			Expect(spec.Affinity).To(Equal(affinity), op)
			Expect(spec.ServiceAccountName).To(Equal("encoder"), op)
			Expect(spec.AutomountServiceAccountToken).To(HaveValue(BeTrue()), op)
			Expect(spec.ActiveDeadlineSeconds).To(HaveValue(Equal(want.deadline)), op)
			Expect(spec.Containers).To(HaveLen(1), op)
			c := spec.Containers[0]
			Expect(c.Name).To(Equal(podspec.ContainerName))
			Expect(c.Image).To(Equal("registry.example/encode:1.2"), op)
			Expect(c.ImagePullPolicy).To(Equal(corev1.PullIfNotPresent), op)
			Expect(c.Command).To(Equal([]string{"/encode"}), op)
			Expect(c.Args).To(Equal([]string{"--threads", "4"}), op)
			Expect(c.Env).To(ContainElement(corev1.EnvVar{Name: "PRESET", Value: "fast"}), op)
			Expect(c.Resources.Requests.Cpu().Equal(*want.res.Requests.Cpu())).To(BeTrue(), "%s cpu request %s", op, c.Resources.Requests.Cpu())
			Expect(c.Resources.Limits.Memory().Equal(*want.res.Limits.Memory())).To(BeTrue(), "%s memory limit %s", op, c.Resources.Limits.Memory())
		}
		By("a HandlerType that names no service account gives its Pods no token")
		plain := builders.MakeAgenda("plain", ns).Op("only", "echo", 1).Obj()
		createAndAdmit(plain)
		Eventually(func(g Gomega) {
			list := podsOf(g, plain, "only")
			g.Expect(list).To(HaveLen(1))
			g.Expect(list[0].Spec.AutomountServiceAccountToken).To(HaveValue(BeFalse()))
		}, framework.Timeout, framework.Interval).Should(Succeed())
	})
})
