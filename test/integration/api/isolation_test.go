package api_test

import (
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

// installCustomerRoles creates the shipped customer ClusterRoles with Kustomize's prefix.
func installCustomerRoles() {
	GinkgoHelper()
	objs, err := framework.ReadManifests(filepath.Join(framework.RepoRoot(), "config", "rbac"))
	Expect(err).NotTo(HaveOccurred())
	for _, o := range objs {
		if o.GetKind() == "ClusterRole" && (o.GetName() == "customer-edit" || o.GetName() == "customer-view") {
			o.SetName("pop-" + o.GetName())
			Expect(client.IgnoreAlreadyExists(env.Client.Create(ctx, o))).To(Succeed())
		}
	}
}

// customerClient acts as user, bound to pop-customer-edit in its own namespace.
func customerClient(user, ns string) client.Client {
	GinkgoHelper()
	Expect(env.Client.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user + "-edit", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "pop-customer-edit"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: user}},
	})).To(Succeed())
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	c, err := client.New(cfg, client.Options{Scheme: framework.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	return c
}

func expectForbidden(err error, fragment string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred())
	Expect(apierrors.IsForbidden(err)).To(BeTrue(), "want 403 Forbidden, got %v", err)
	Expect(err.Error()).To(ContainSubstring(fragment))
}

var _ = Describe("Tenant isolation (RBAC with the shipped customer roles)", func() {
	var nsA, nsB string
	var alice client.Client
	BeforeEach(func() {
		installCustomerRoles()
		var err error
		nsA, err = env.CreateNamespace(ctx, "cust-a", map[string]string{popv1.CustomerLabel: "a"})
		Expect(err).NotTo(HaveOccurred())
		nsB, err = env.CreateNamespace(ctx, "cust-b", map[string]string{popv1.CustomerLabel: "b"})
		Expect(err).NotTo(HaveOccurred())
		Expect(env.Client.Create(ctx, builders.MakeAgenda("b-work", nsB).Op("x", "echo").Obj())).To(Succeed())
		Expect(env.Client.Create(ctx, builders.MakeHandlerType("b-secret", nsB, "img").Obj())).To(Succeed())
		alice = customerClient("alice", nsA)
	})

	It("lets a customer work in its own namespace", func() {
		Expect(alice.Create(ctx, builders.MakeAgenda("mine", nsA).Op("x", "echo").Obj())).To(Succeed())
		var list popv1.AgendaList
		Expect(alice.List(ctx, &list, client.InNamespace(nsA))).To(Succeed())
		Expect(list.Items).To(HaveLen(1))
	})

	It("denies every access to another customer's Agendas, Pods and HandlerTypes", func() {
		cannot := `User "alice" cannot `
		inB := `in the namespace "` + nsB + `"`
		expectForbidden(alice.Get(ctx, client.ObjectKey{Namespace: nsB, Name: "b-work"}, &popv1.Agenda{}), cannot+`get resource "agendas" in API group "pop.dev" `+inB)
		expectForbidden(alice.List(ctx, &popv1.AgendaList{}, client.InNamespace(nsB)), cannot+`list resource "agendas"`)
		expectForbidden(alice.Create(ctx, builders.MakeAgenda("intruder", nsB).Op("x", "echo").Obj()), cannot+`create resource "agendas"`)
		ag := builders.MakeAgenda("b-work", nsB).Op("x", "echo").Obj()
		expectForbidden(alice.Patch(ctx, ag, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"cancel":true}}`))), cannot+`patch resource "agendas"`)
		expectForbidden(alice.List(ctx, &corev1.PodList{}, client.InNamespace(nsB)), cannot+`list resource "pods" in API group "" `+inB)
		expectForbidden(alice.Get(ctx, client.ObjectKey{Namespace: nsB, Name: "b-secret"}, &popv1.HandlerType{}), cannot+`get resource "handlertypes"`)
		expectForbidden(alice.List(ctx, &popv1.AgendaList{}), cannot+`list resource "agendas" in API group "pop.dev" at the cluster scope`)
	})

	It("denies forging the customer label, self-admission and changing handlers or queues", func() {
		nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsA}}
		expectForbidden(alice.Patch(ctx, nsObj, client.RawPatch("application/merge-patch+json",
			[]byte(`{"metadata":{"labels":{"pop.dev/customer":"b"}}}`))), `cannot patch resource "namespaces"`)
		mine := builders.MakeAgenda("self-admit", nsA).Op("x", "echo").Obj()
		Expect(alice.Create(ctx, mine)).To(Succeed())
		expectForbidden(alice.Status().Patch(ctx, mine, client.RawPatch("application/merge-patch+json",
			[]byte(`{"status":{"conditions":[{"type":"Admitted","status":"True","reason":"Forged","message":"x","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}`))),
			`cannot patch resource "agendas/status"`)
		expectForbidden(alice.Create(ctx, builders.MakeHandlerType("privileged", nsA, "evil").Obj()), `cannot create resource "handlertypes"`)
		expectForbidden(alice.Create(ctx, builders.MakeInsight("my-own-queue", nsA).Capacity(1000).Obj()), `cannot create resource "insights"`)
	})
})
