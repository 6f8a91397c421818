package controllers_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

var _ = Describe("HandlerType controller", func() {
	var ns string
	BeforeEach(func() {
		var err error
		ns, err = env.CreateNamespace(ctx, "ht", nil)
		Expect(err).NotTo(HaveOccurred())
	})

	readyCondition := func(key client.ObjectKey) func(Gomega) *metav1.Condition {
		return func(g Gomega) *metav1.Condition {
			var ht popv1.HandlerType
			g.Expect(env.Client.Get(ctx, key, &ht)).To(Succeed())
			c := meta.FindStatusCondition(ht.Status.Conditions, popv1.HandlerTypeReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.ObservedGeneration).To(Equal(ht.Generation))
			return c
		}
	}

	It("marks a valid HandlerType Ready", func() {
		ht := builders.MakeHandlerType("echo", ns, "pop-handlers/echo:dev").Obj()
		Expect(env.Client.Create(ctx, ht)).To(Succeed())
		Eventually(readyCondition(client.ObjectKeyFromObject(ht)), framework.Timeout, framework.Interval).
			Should(HaveField("Status", metav1.ConditionTrue))
	})

	It("marks a HandlerType overriding POP's variables not Ready, then Ready once fixed", func() {
		ht := builders.MakeHandlerType("bad", ns, "img").Env("PAYLOAD", "x").Obj()
		Expect(env.Client.Create(ctx, ht)).To(Succeed())
		key := client.ObjectKeyFromObject(ht)
		Eventually(readyCondition(key), framework.Timeout, framework.Interval).Should(And(
			HaveField("Status", metav1.ConditionFalse),
			HaveField("Reason", popv1.ReasonInvalidSpec),
			HaveField("Message", ContainSubstring(`spec.env[0].name: Invalid value: "PAYLOAD"`)),
		))

		Expect(env.Client.Get(ctx, key, ht)).To(Succeed())
		ht.Spec.Env[0].Name = "MY_PAYLOAD"
		Expect(env.Client.Update(ctx, ht)).To(Succeed())
		Eventually(readyCondition(key), framework.Timeout, framework.Interval).
			Should(HaveField("Status", metav1.ConditionTrue))
	})
})
