package ui_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/ui"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

var _ = Describe("UI API as the user (impersonation)", func() {
	var nsA, nsB string
	alice, bob := identity{user: "alice"}, identity{user: "bob"}
	BeforeEach(func() {
		nsA = customerNamespace("a", "alice", "edit")
		nsB = customerNamespace("b", "bob", "view")
		Expect(env.Client.Create(ctx, builders.MakeAgenda("a-work", nsA).Op("x", "echo").Obj())).To(Succeed())
		Expect(env.Client.Create(ctx, builders.MakeAgenda("b-work", nsB).Op("x", "echo").Obj())).To(Succeed())
	})

	It("lists only the customer's own Agendas and answers the API server's 403 for another's", func() {
		var mine []ui.AgendaSummary
		getJSON(alice, "/api/agendas?namespace="+nsA, &mine)
		Expect(mine).To(HaveLen(1))
		Expect(mine[0].Name).To(Equal("a-work"))

		for _, path := range []string{"/api/agendas?namespace=" + nsB, "/api/agendas", "/api/agendas/" + nsB + "/b-work", "/api/watch/agendas/" + nsB + "/b-work", "/api/insights"} {
			code, body := call(alice, http.MethodGet, path)
			Expect(code).To(Equal(http.StatusForbidden), path+": "+string(body))
			Expect(string(body)).To(ContainSubstring(`User \"alice\" cannot`))
		}
		var bobs []ui.AgendaSummary
		getJSON(bob, "/api/agendas?namespace="+nsB, &bobs)
		Expect(bobs).To(HaveLen(1))
		Expect(bobs[0].Name).To(Equal("b-work"))
	})

	It("cancels as the user: allowed with edit in the own namespace, 403 elsewhere and with view", func() {
		code, body := call(alice, http.MethodPost, "/api/agendas/"+nsB+"/b-work/cancel")
		Expect(code).To(Equal(http.StatusForbidden), string(body))
		code, body = call(bob, http.MethodPost, "/api/agendas/"+nsB+"/b-work/cancel")
		Expect(code).To(Equal(http.StatusForbidden), string(body))
		var b popv1.Agenda
		Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: nsB, Name: "b-work"}, &b)).To(Succeed())
		Expect(b.Spec.Cancel).To(BeFalse())

		code, body = call(alice, http.MethodPost, "/api/agendas/"+nsA+"/a-work/cancel")
		Expect(code).To(Equal(http.StatusOK), string(body))
		var a popv1.Agenda
		Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: nsA, Name: "a-work"}, &a)).To(Succeed())
		Expect(a.Spec.Cancel).To(BeTrue())
	})

	It("refuses requests without a user, and bounds tenant input", func() {
		code, _ := call(identity{}, http.MethodGet, "/api/agendas?namespace="+nsA)
		Expect(code).To(Equal(http.StatusUnauthorized))
		code, _ = call(identity{user: strings.Repeat("u", 300)}, http.MethodGet, "/api/agendas?namespace="+nsA)
		Expect(code).To(Equal(http.StatusBadRequest))
		code, _ = call(alice, http.MethodGet, "/api/agendas?namespace=Not_A_Namespace")
		Expect(code).To(Equal(http.StatusBadRequest))
		code, _ = call(alice, http.MethodGet, "/api/agendas?namespace="+nsA+"&selector="+strings.Repeat("a", 1100))
		Expect(code).To(Equal(http.StatusBadRequest))
		code, _ = call(alice, http.MethodGet, "/api/agendas?namespace="+nsA+"&selector=a%3D%3D%3Db")
		Expect(code).To(Equal(http.StatusBadRequest))
	})

	It("filters Agendas by phase and label", func() {
		Expect(env.Client.Create(ctx, builders.MakeAgenda("labelled", nsA).Op("x", "echo").Obj())).To(Succeed())
		var l popv1.Agenda
		Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: nsA, Name: "labelled"}, &l)).To(Succeed())
		l.Labels = map[string]string{"team": "blue"}
		Expect(env.Client.Update(ctx, &l)).To(Succeed())
		setOpState(&l, popv1.PhaseRunning, "x", popv1.OperationExecuting)

		var got []ui.AgendaSummary
		getJSON(alice, "/api/agendas?namespace="+nsA+"&selector=team%3Dblue", &got)
		Expect(got).To(HaveLen(1))
		Expect(got[0].Name).To(Equal("labelled"))
		getJSON(alice, "/api/agendas?namespace="+nsA+"&phase=Running", &got)
		Expect(got).To(HaveLen(1))
		Expect(got[0].Phase).To(Equal("Running"))
	})

	It("streams an Agenda's operation states as they change", func() {
		ag := builders.MakeAgenda("dag", nsA).Op("a", "echo").Op("b", "echo").DependsOn("a").Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		stream, stop := events(alice, "/api/watch/agendas/"+nsA+"/dag")
		defer stop()
		first := nextView(stream)
		Expect(first.Operations).To(HaveLen(2))
		Expect(first.Operations[1].Deps).To(Equal([]string{"a"}))
		Expect(first.Operations[1].Layer).To(Equal(1))
		Expect(first.Operations[0].State).To(Equal("Waiting"))

		setOpState(ag, popv1.PhaseRunning, "a", popv1.OperationSucceeded)
		Eventually(func() string { return nextView(stream).Operations[0].State }, framework.Timeout).Should(Equal("Succeeded"))
	})

	It("shows Insights with capacity, counts and the queue head to a platform user", func() {
		in := &popv1.Insight{ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: nsA}, Spec: popv1.InsightSpec{Capacity: ptr.To[int32](2)}}
		Expect(env.Client.Create(ctx, in)).To(Succeed())
		in.Status = popv1.InsightStatus{Pending: 1, Admitted: 2, Head: []popv1.PendingAgenda{{Namespace: nsA, Name: "a-work", Position: 1}}}
		Expect(env.Client.Status().Update(ctx, in)).To(Succeed())
		var got []ui.InsightView
		getJSON(platform, "/api/insights?namespace="+nsA, &got)
		Expect(got).To(HaveLen(1))
		Expect(got[0]).To(matchInsight(in))
	})
})

// nextView reads the stream's next event as an AgendaView.
func nextView(stream <-chan string) ui.AgendaView {
	GinkgoHelper()
	var data string
	Eventually(stream, framework.Timeout).Should(Receive(&data))
	var v ui.AgendaView
	Expect(json.Unmarshal([]byte(data), &v)).To(Succeed())
	return v
}

// matchInsight checks the Insight view against the Insight it was made from.
func matchInsight(in *popv1.Insight) OmegaMatcher {
	return And(
		HaveField("Name", in.Name), HaveField("Capacity", int32(2)), HaveField("Algorithm", "FIFO"),
		HaveField("Pending", int32(1)), HaveField("Admitted", int32(2)),
		HaveField("Head", ConsistOf(HaveField("Position", int32(1)))),
	)
}

var _ = Describe("UI API with the user's bearer token (--auth=token)", func() {
	It("passes the token on: the token's own namespace only, 403 elsewhere, 401 without one", func() {
		nsA := customerNamespace("a", "alice", "edit")
		nsB := customerNamespace("b", "bob", "view")
		Expect(env.Client.Create(ctx, builders.MakeAgenda("a-work", nsA).Op("x", "echo").Obj())).To(Succeed())
		Expect(env.Client.Create(ctx, builders.MakeAgenda("b-work", nsB).Op("x", "echo").Obj())).To(Succeed())
		// A ServiceAccount of customer a, bound to pop-customer-edit in its namespace.
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot", Namespace: nsA}}
		Expect(env.Client.Create(ctx, sa)).To(Succeed())
		Expect(env.Client.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "robot-edit", Namespace: nsA},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "pop-customer-edit"},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "robot", Namespace: nsA}},
		})).To(Succeed())
		tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}
		Expect(env.Client.SubResource("token").Create(ctx, sa, tr)).To(Succeed())
		Expect(tr.Status.Token).NotTo(BeEmpty())

		src, err := ui.NewTokenClients(env.Config, client.Options{Scheme: framework.Scheme()})
		Expect(err).NotTo(HaveOccurred())
		tsrv := httptest.NewServer(ui.NewServer(src))
		defer tsrv.Close()
		get := func(token, path string) (int, string) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, tsrv.URL+path, nil)
			Expect(err).NotTo(HaveOccurred())
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			// Proxy headers mean nothing in token mode.
			req.Header.Set("X-Remote-User", "ops")
			req.Header.Set("X-Remote-Group", "system:masters")
			resp, err := http.DefaultClient.Do(req)
			Expect(err).NotTo(HaveOccurred())
			defer func() { _ = resp.Body.Close() }()
			b, err := io.ReadAll(resp.Body)
			Expect(err).NotTo(HaveOccurred())
			return resp.StatusCode, string(b)
		}
		code, body := get(tr.Status.Token, "/api/agendas?namespace="+nsA)
		Expect(code).To(Equal(http.StatusOK), body)
		Expect(body).To(ContainSubstring(`"name":"a-work"`))
		code, body = get(tr.Status.Token, "/api/agendas/"+nsB+"/b-work")
		Expect(code).To(Equal(http.StatusForbidden), body)
		Expect(body).To(ContainSubstring(`User \"system:serviceaccount:` + nsA + `:robot\" cannot get resource \"agendas\"`))
		code, body = get("", "/api/agendas?namespace="+nsA)
		Expect(code).To(Equal(http.StatusUnauthorized), body)
		code, body = get("not-a-token", "/api/agendas?namespace="+nsA)
		Expect(code).To(Equal(http.StatusUnauthorized), body)
	})
})
