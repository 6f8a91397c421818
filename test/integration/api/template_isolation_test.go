package api_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

func aTemplate(name, ns string) *popv1.AgendaTemplate {
	return &popv1.AgendaTemplate{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: popv1.AgendaTemplateSpec{Operations: []popv1.Operation{{Name: "x", Type: "echo"}}}}
}

var _ = Describe("AgendaTemplate isolation (RBAC with the shipped customer roles)", func() {
	It("lets a customer read its own namespace's templates, and neither read another's nor write any", func() {
		installCustomerRoles()
		nsA, err := env.CreateNamespace(ctx, "tpl-a", map[string]string{popv1.CustomerLabel: "a"})
		Expect(err).NotTo(HaveOccurred())
		nsB, err := env.CreateNamespace(ctx, "tpl-b", map[string]string{popv1.CustomerLabel: "b"})
		Expect(err).NotTo(HaveOccurred())
		Expect(env.Client.Create(ctx, aTemplate("own", nsA))).To(Succeed())
		Expect(env.Client.Create(ctx, aTemplate("b-secret", nsB))).To(Succeed())
		carol := customerClient("carol", nsA)

		Expect(carol.Get(ctx, client.ObjectKey{Namespace: nsA, Name: "own"}, &popv1.AgendaTemplate{})).To(Succeed())
		var list popv1.AgendaTemplateList
		Expect(carol.List(ctx, &list, client.InNamespace(nsA))).To(Succeed())
		Expect(list.Items).To(HaveLen(1))

		cannot := `User "carol" cannot `
		expectForbidden(carol.Get(ctx, client.ObjectKey{Namespace: nsB, Name: "b-secret"}, &popv1.AgendaTemplate{}),
			cannot+`get resource "agendatemplates" in API group "pop.dev" in the namespace "`+nsB+`"`)
		expectForbidden(carol.List(ctx, &popv1.AgendaTemplateList{}, client.InNamespace(nsB)), cannot+`list resource "agendatemplates"`)
		expectForbidden(carol.List(ctx, &popv1.AgendaTemplateList{}), cannot+`list resource "agendatemplates" in API group "pop.dev" at the cluster scope`)
		expectForbidden(carol.Create(ctx, aTemplate("mine", nsA)), cannot+`create resource "agendatemplates"`)
		expectForbidden(carol.Delete(ctx, aTemplate("own", nsA)), cannot+`delete resource "agendatemplates"`)
	})
})
