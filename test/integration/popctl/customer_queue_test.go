package popctl_test

import (
	"bytes"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/popctl"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

// installCustomerRoles creates the ClusterRoles shipped in config/rbac/customer_roles.yaml,
// as they are (without Kustomize's name prefix).
func installCustomerRoles() {
	data, err := os.ReadFile(filepath.Join(framework.RepoRoot(), "config/rbac/customer_roles.yaml"))
	Expect(err).NotTo(HaveOccurred())
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var role rbacv1.ClusterRole
		if err := dec.Decode(&role); err != nil {
			break
		}
		if role.Name == "" {
			continue
		}
		if err := c.Create(ctx, &role); err != nil && !apierrors.IsAlreadyExists(err) {
			Expect(err).NotTo(HaveOccurred())
		}
	}
}

// clientAs is a client acting as user, bound to the customer-view role in ns.
func clientAs(user, ns string) client.WithWatch {
	Expect(c.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "view-" + user, Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "customer-view"},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: user}}})).To(Succeed())
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	cc, err := client.NewWithWatch(cfg, client.Options{Scheme: framework.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	return cc
}

var _ = Describe("popctl queue for a customer", func() {
	It("shows the customer's own queued Agendas from their status when Insights are forbidden", func() {
		ns, err := env.CreateNamespace(ctx, "tenant", nil)
		Expect(err).NotTo(HaveOccurred())
		installCustomerRoles()
		Expect(c.Create(ctx, builders.MakeInsight("q", ns).Obj())).To(Succeed())
		mine := builders.MakeAgenda("mine", ns).Op("only", "echo").Obj()
		Expect(c.Create(ctx, mine)).To(Succeed())
		now := time.Now()
		pos, eta := int32(3), metav1.NewTime(now.Add(10*time.Minute))
		mine.Status.Insight, mine.Status.QueuePosition, mine.Status.EstimatedAdmissionTime = ns+"/q", &pos, &eta
		mine.Status.PositionTime = &metav1.Time{Time: now}
		meta.SetStatusCondition(&mine.Status.Conditions, metav1.Condition{Type: popv1.AgendaQueued, Status: metav1.ConditionTrue,
			Reason: popv1.ReasonWaitingForCapacity, Message: "waiting"})
		Expect(c.Status().Update(ctx, mine)).To(Succeed())

		customer := clientAs("carol", ns)
		Eventually(func(g Gomega) { // the RoleBinding takes effect
			g.Expect(customer.Get(ctx, client.ObjectKeyFromObject(mine), &popv1.Agenda{})).To(Succeed())
		}, framework.Timeout).Should(Succeed())
		Expect(apierrors.IsForbidden(customer.Get(ctx, client.ObjectKey{Namespace: ns, Name: "q"}, &popv1.Insight{}))).To(BeTrue(),
			"the shipped customer role must not read Insights")

		for _, args := range [][]string{{"queue", "q"}, {"queue"}} {
			var out, errOut bytes.Buffer
			root := popctl.NewRootForClient(&out, &errOut, customer, ns)
			root.SetArgs(args)
			Expect(root.ExecuteContext(ctx)).To(Succeed(), "popctl %v as a customer: %s", args, errOut.String())
			Expect(out.String()).To(MatchRegexp(`mine\s+`+ns+`/q\s+3\s+\S+\s+in (9|10)m`), "popctl %v", args)
		}
	})
})
