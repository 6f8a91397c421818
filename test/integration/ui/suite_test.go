// Package ui_test runs POP's web UI server against envtest as two customers and a platform
// user, through its HTTP API and in a real headless Chromium.
package ui_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/ui"
	"github.com/pop-operator/pop/test/framework"
)

var (
	env *framework.Env
	srv *httptest.Server
	ctx = context.Background()
)

func TestUI(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Web UI suite")
}

var _ = BeforeSuite(func() {
	var err error
	env, err = framework.Start()
	Expect(err).NotTo(HaveOccurred())
	installCustomerRoles()
	src, err := ui.NewImpersonatingClients(env.Config, client.Options{Scheme: framework.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	srv = httptest.NewServer(ui.NewServer(src))
})

var _ = AfterSuite(func() {
	if srv != nil {
		srv.Close()
	}
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})

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

// customerNamespace makes a customer's namespace and binds user to role (edit or view) in it.
func customerNamespace(customer, user, role string) string {
	GinkgoHelper()
	ns, err := env.CreateNamespace(ctx, "cust-"+customer, map[string]string{popv1.CustomerLabel: customer})
	Expect(err).NotTo(HaveOccurred())
	Expect(env.Client.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user + "-" + role, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "pop-customer-" + role},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: user}},
	})).To(Succeed())
	return ns
}

// grantAgendaReader lets user read Agendas (only) in ns.
func grantAgendaReader(ns, user string) {
	GinkgoHelper()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "agenda-reader", Namespace: ns}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{popv1.GroupVersion.Group}, Resources: []string{"agendas"}, Verbs: []string{"get", "list", "watch"}}}}
	Expect(env.Client.Create(ctx, role)).To(Succeed())
	Expect(env.Client.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user + "-agenda-reader", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "agenda-reader"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: user}},
	})).To(Succeed())
}
