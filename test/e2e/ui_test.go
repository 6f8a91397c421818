package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
)

// The web UI installed by `helm install … --set ui.enabled=true` on the embedded cluster,
// reached through its Service. The cluster has no kube-proxy (docs/local-cluster.md): the
// requests go through the API server's service proxy
// (/api/v1/namespaces/pop-system/services/pop-ui:http/proxy/…), which sends them to the
// Service's endpoints, that is to the UI's Pod.
var _ = Describe("The web UI (helm install --set ui.enabled=true)", Ordered, func() {
	BeforeAll(func() {
		importUIImage()
		helmInstall("--set", "ui.enabled=true")
		waitForUI()
	})
	AfterAll(func() {
		// The suite's default install, no UI: without values helm upgrade would reuse the last ones.
		helmInstall("--reset-values")
		Eventually(func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "pop-ui"}, &appsv1.Deployment{}))
		}, timeout, interval).Should(BeTrue(), "helm upgrade with ui.enabled=false left the UI")
	})

	It("serves the page and its assets through the Service", func() {
		code, body := viaService("", "/")
		Expect(code).To(Equal(http.StatusOK), body)
		Expect(body).To(ContainSubstring("<title>POP</title>"))
		Expect(body).To(ContainSubstring(`<script src="vendor/dagre.min.js"`))
		code, body = viaService("", "/app.js")
		Expect(code).To(Equal(http.StatusOK))
		Expect(body).To(ContainSubstring("dagre.layout"))
		code, _ = viaService("", "/healthz")
		Expect(code).To(Equal(http.StatusOK))
		// No user, no data; and the API server's proxy does not pass on an X-Remote-User.
		code, body = viaService("", "/api/agendas")
		Expect(code).To(Equal(http.StatusUnauthorized), body)
		code, body = viaService("ops", "/api/agendas")
		Expect(code).To(Equal(http.StatusUnauthorized), body)
	})

	It("runs as a Pod the restricted Pod Security Standard admits, with a ServiceAccount that may only impersonate", func() {
		var dep appsv1.Deployment
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "pop-ui"}, &dep)).To(Succeed())
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "ui-pss-", Labels: map[string]string{
			"pod-security.kubernetes.io/enforce": "restricted"}}}
		Expect(k8s.Create(ctx, ns)).To(Succeed())
		DeferCleanup(func() { Expect(k8s.Delete(ctx, ns)).To(Succeed()) })
		Expect(k8s.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "pop-ui", Namespace: ns.Name}})).To(Succeed())
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "ui", Namespace: ns.Name}, Spec: *dep.Spec.Template.Spec.DeepCopy()}
		Expect(k8s.Create(ctx, pod, client.DryRunAll)).To(Succeed(), "the restricted standard refuses the UI's Pod")

		var role rbacv1.ClusterRole
		Expect(k8s.Get(ctx, client.ObjectKey{Name: "pop-ui-impersonator"}, &role)).To(Succeed())
		Expect(role.Rules).To(Equal([]rbacv1.PolicyRule{{Verbs: []string{"impersonate"}, APIGroups: []string{""}, Resources: []string{"users", "groups"}}}))
	})

	It("acts as the user on real Pods: the customer's own Agenda, its operation's log tail; 403 for another's", func() {
		mine, theirs := newNamespace("ui-mine", 5), newNamespace("ui-theirs", 5)
		customerUser(mine, "carla")
		ag := builders.MakeAgenda("through-the-ui", mine).Op("hello", "echo", "hello from the web UI").Obj()
		ag.Spec.PodCleanup = popv1.KeepAll // the succeeded Pod and its log stay for the UI to show
		other := builders.MakeAgenda("not-carlas", theirs).Op("x", "echo", "secret").Obj()
		Expect(k8s.Create(ctx, ag)).To(Succeed())
		Expect(k8s.Create(ctx, other)).To(Succeed())
		done := waitForPhase(ag, popv1.PhaseSucceeded, popv1.PhaseFailed)
		Expect(done.Status.Phase).To(Equal(popv1.PhaseSucceeded), "operations: %+v", done.Status.Operations)

		code, body := viaEndpoint("", "/api/agendas/"+mine+"/through-the-ui")
		Expect(code).To(Equal(http.StatusUnauthorized), body)
		code, body = viaEndpoint("carla", "/api/agendas/"+mine+"/through-the-ui")
		Expect(code).To(Equal(http.StatusOK), body)
		var view struct {
			Phase      string `json:"phase"`
			Operations []struct{ Name, State string }
		}
		Expect(json.Unmarshal([]byte(body), &view)).To(Succeed())
		Expect(view.Phase).To(Equal("Succeeded"))
		Expect(view.Operations).To(HaveLen(1))
		Expect(view.Operations[0].State).To(Equal("Succeeded"))

		code, body = viaEndpoint("carla", "/api/agendas/"+mine+"/through-the-ui/operations/hello")
		Expect(code).To(Equal(http.StatusOK), body)
		Expect(body).To(ContainSubstring(`"resolvedPayload":"\"hello from the web UI\""`))
		Expect(body).To(ContainSubstring(`"attemptPods":[{"attempt":1,"name":"` + done.Status.Operations[0].Pod + `","phase":"Succeeded"`))
		code, body = viaEndpoint("carla", "/api/agendas/"+mine+"/through-the-ui/operations/hello/log")
		Expect(code).To(Equal(http.StatusOK), body)
		Expect(body).To(ContainSubstring(`echo: "hello from the web UI"`))

		for _, path := range []string{"/api/agendas/" + theirs + "/not-carlas", "/api/agendas/" + theirs + "/not-carlas/operations/x/log", "/api/agendas?namespace=" + theirs} {
			code, body := viaEndpoint("carla", path)
			Expect(code).To(Equal(http.StatusForbidden), path+": "+body)
			Expect(body).To(ContainSubstring(`User \"carla\" cannot`))
		}
	})
})

// The same UI with `kubectl apply -k config/ui` beside the Helm-installed manager (the
// suite's; config/ui names its objects as the chart does), removed afterwards.
var _ = Describe("The web UI (kubectl apply -k config/ui)", Ordered, func() {
	BeforeAll(func() {
		importUIImage()
		kubectlRun("apply", "-k", "config/ui")
		waitForUI()
	})
	AfterAll(func() {
		kubectlRun("delete", "-k", "config/ui", "--wait")
	})

	It("serves the page through the Service and acts as the user", func() {
		code, body := viaService("", "/")
		Expect(code).To(Equal(http.StatusOK), body)
		Expect(body).To(ContainSubstring("<title>POP</title>"))
		mine, theirs := newNamespace("uik-mine", 5), newNamespace("uik-theirs", 5)
		customerUser(mine, "kai")
		Expect(k8s.Create(ctx, builders.MakeAgenda("mine", mine).Op("a", "echo", "k").Obj())).To(Succeed())
		code, body = viaEndpoint("kai", "/api/agendas?namespace="+mine)
		Expect(code).To(Equal(http.StatusOK), body)
		Expect(body).To(ContainSubstring(`"name":"mine"`))
		code, body = viaEndpoint("kai", "/api/agendas?namespace="+theirs)
		Expect(code).To(Equal(http.StatusForbidden), body)
		Expect(body).To(ContainSubstring(`User \"kai\" cannot list resource \"agendas\"`))
	})
})

// viaService makes a request to the UI through its Service, as user when not empty.
func viaService(user, path string) (int, string) {
	GinkgoHelper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfigPath)
	Expect(err).NotTo(HaveOccurred())
	cs, err := kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	req := cs.CoreV1().RESTClient().Get().AbsPath("/api/v1/namespaces/" + operatorNamespace + "/services/pop-ui:http/proxy" + path)
	if user != "" {
		req = req.SetHeader("X-Remote-User", user)
	}
	var code int
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	body, _ := req.Do(tctx).StatusCode(&code).Raw()
	return code, string(body)
}

// viaEndpoint makes a request as user to the Service's ready endpoint, as kube-proxy would
// route it: the test process reaches Pod addresses on the node's bridge, as the API server
// does. The API server's service proxy drops X-Remote-User (the first spec), so an identity can
// be sent only this way (in a real cluster: by the authenticating proxy).
func viaEndpoint(user, path string) (int, string) {
	GinkgoHelper()
	var slices discoveryv1.EndpointSliceList
	Expect(k8s.List(ctx, &slices, client.InNamespace(operatorNamespace), client.MatchingLabels{discoveryv1.LabelServiceName: "pop-ui"})).To(Succeed())
	addr := ""
	for _, sl := range slices.Items {
		for _, ep := range sl.Endpoints {
			if ep.Conditions.Ready != nil && *ep.Conditions.Ready && len(ep.Addresses) > 0 {
				addr = ep.Addresses[0]
			}
		}
	}
	Expect(addr).NotTo(BeEmpty(), "the pop-ui Service has no ready endpoint")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(addr, "8080")+path, nil)
	Expect(err).NotTo(HaveOccurred())
	if user != "" {
		req.Header.Set("X-Remote-User", user)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return resp.StatusCode, string(b)
}

// waitForUI waits until the pop-ui Deployment is Available.
func waitForUI() {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		var dep appsv1.Deployment
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "pop-ui"}, &dep)).To(Succeed())
		g.Expect(dep.Status.AvailableReplicas).To(BeNumerically(">=", 1))
	}, installTimeout, time.Second).Should(Succeed(), uiLog)
}

// customerUser binds user to pop-customer-edit in ns.
func customerUser(ns, user string) {
	GinkgoHelper()
	Expect(k8s.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user + "-edit", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "pop-customer-edit"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: user}},
	})).To(Succeed())
}

// importUIImage builds pop-ui:dev from this tree and imports it into the cluster's containerd:
// up.sh imports images only when it starts the cluster, which may be older than the tree.
func importUIImage() {
	GinkgoHelper()
	dir := GinkgoT().TempDir()
	run("go", "run", "./hack/images", "-out", dir, "-only", "pop-ui:dev")
	// The kubeconfig up.sh prints lies in its state folder, beside containerd's socket.
	sock := filepath.Join(filepath.Dir(kubeconfigPath), "containerd", "containerd.sock")
	run("ctr", "--address", sock, "-n", "k8s.io", "images", "import", filepath.Join(dir, "pop-ui.tar"))
}

// uiLog describes a failure with the UI's recent log.
func uiLog() string {
	out, _ := exec.Command(kubectl, "--kubeconfig", kubeconfigPath, "logs", "-n", operatorNamespace,
		"deploy/pop-ui", "--tail=40").CombinedOutput()
	return "pop-ui log:\n" + strings.TrimSpace(string(out))
}
