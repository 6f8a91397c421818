package webhook_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pop-operator/pop/test/builders"
)

// What would make every handler Pod be refused is refused at the door instead, naming the
// field (issue 11, item 2): a timeout under a second (activeDeadlineSeconds 0) and requests
// above limits.
var _ = Describe("Pod settings refused early", func() {
	var ns string
	BeforeEach(func() {
		var err error
		ns, err = env.CreateNamespace(ctx, "early", nil)
		Expect(err).NotTo(HaveOccurred())
	})

	expectInvalid := func(obj client.Object, fragments ...string) {
		GinkgoHelper()
		err := env.Client.Create(ctx, obj)
		Expect(err).To(HaveOccurred(), "the API server let it in")
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want 422 Invalid, got %v", err)
		for _, f := range fragments {
			Expect(err.Error()).To(ContainSubstring(f))
		}
	}
	cpu := func(requests, limits string) *corev1.ResourceRequirements {
		return &corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(requests)},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(limits)},
		}
	}

	It("refuses an operation timeout under 1s and accepts 1s", func() {
		ag := builders.MakeAgenda("quick", ns).Op("a", "t").Obj()
		ag.Spec.Operations[0].Timeout = &metav1.Duration{Duration: 500 * time.Millisecond}
		expectInvalid(ag, "spec.operations[0].timeout", "at least 1s")
		ag.Spec.Operations[0].Timeout = &metav1.Duration{Duration: time.Second}
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
	})

	It("refuses operation requests above limits and accepts them equal", func() {
		ag := builders.MakeAgenda("greedy", ns).Op("a", "t").Obj()
		ag.Spec.Operations[0].Resources = cpu("2", "1")
		expectInvalid(ag, "spec.operations[0].resources", "requests must not exceed limits")
		ag.Spec.Operations[0].Resources = cpu("1", "1000m")
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
	})

	It("refuses a HandlerType timeout under 1s and requests above limits", func() {
		ht := builders.MakeHandlerType("h", ns, "img:1").Obj()
		ht.Spec.Timeout = &metav1.Duration{}
		expectInvalid(ht, "spec.timeout", "at least 1s")
		ht.Spec.Timeout = nil
		ht.Spec.Resources = *cpu("500m", "250m")
		expectInvalid(ht, "spec.resources", "requests must not exceed limits")
		ht.Spec.Resources = *cpu("250m", "500m")
		Expect(env.Client.Create(ctx, ht)).To(Succeed())
	})

	It("compares quantities written as YAML integers", func() {
		ht := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "pop.dev/v1alpha1", "kind": "HandlerType",
			"metadata": map[string]any{"name": "ints", "namespace": ns},
			"spec": map[string]any{"image": "img:1", "resources": map[string]any{
				"requests": map[string]any{"cpu": int64(2)}, "limits": map[string]any{"cpu": int64(1)}}},
		}}
		expectInvalid(ht, "spec.resources", "requests must not exceed limits")
	})
})
