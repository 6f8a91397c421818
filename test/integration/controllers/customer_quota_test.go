package controllers_test

import (
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pop-operator/pop/internal/popctl"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

var _ = Describe("A customer onboarded with popctl", func() {
	It("cannot create more Agendas than its quota allows", func() {
		opts := popctl.CustomerOptions{Namespace: "quota-" + strconv.FormatInt(time.Now().UnixNano(), 36), Pods: 10, CPU: "4", Memory: "8Gi",
			DefaultCPU: "50m", DefaultMemory: "64Mi", Agendas: 2}
		objs, err := popctl.CustomerObjects("counted", opts)
		Expect(err).NotTo(HaveOccurred())
		for _, obj := range objs {
			Expect(env.Client.Create(ctx, obj)).To(Succeed())
		}
		ns := opts.Namespace
		// envtest runs no quota controller: record the quota as computed, usage zero, as it
		// would. Admission then counts every create against it.
		var quota corev1.ResourceQuota
		Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "pop-customer"}, &quota)).To(Succeed())
		quota.Status.Hard = quota.Spec.Hard
		quota.Status.Used = corev1.ResourceList{}
		for name := range quota.Spec.Hard {
			quota.Status.Used[name] = resource.MustParse("0")
		}
		Expect(env.Client.Status().Update(ctx, &quota)).To(Succeed())

		Expect(env.Client.Create(ctx, oneOp("first", ns).Obj())).To(Succeed())
		Expect(env.Client.Create(ctx, oneOp("second", ns).Obj())).To(Succeed())
		err = env.Client.Create(ctx, builders.MakeAgenda("third", ns).Op("op", "echo", 3).Obj())
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "want 403 exceeded quota, got %v", err)
		Expect(err.Error()).To(ContainSubstring(string(popctl.AgendaCountResource)))
		Eventually(func(g Gomega) {
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "pop-customer"}, &quota)).To(Succeed())
			used := quota.Status.Used[popctl.AgendaCountResource]
			g.Expect(used.Value()).To(Equal(int64(2)))
		}, framework.Timeout, framework.Interval).Should(Succeed())
	})
})
