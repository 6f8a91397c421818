package ui_test

import (
	"encoding/json"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/podspec"
	"github.com/pop-operator/pop/internal/ui"
	"github.com/pop-operator/pop/test/builders"
)

var csrf = map[string]string{"X-Requested-By": "pop-ui"}

var _ = Describe("UI actions and operation detail as the user", func() {
	var nsA, nsB string
	alice, bob := identity{user: "alice"}, identity{user: "bob"}
	BeforeEach(func() {
		nsA = customerNamespace("a", "alice", "edit")
		nsB = customerNamespace("b", "bob", "view")
	})

	get := func(ns, name string) *popv1.Agenda {
		GinkgoHelper()
		var a popv1.Agenda
		Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &a)).To(Succeed())
		return &a
	}

	It("reruns all, from failure and selected operations as the user, and 403 where RBAC says no", func() {
		ag := builders.MakeAgenda("done", nsA).Op("a", "echo").Op("b", "echo").DependsOn("a").Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		theirs := builders.MakeAgenda("theirs", nsB).Op("a", "echo").Obj()
		Expect(env.Client.Create(ctx, theirs)).To(Succeed())
		path := "/api/agendas/" + nsA + "/done/rerun"

		ids := map[string]bool{}
		for _, body := range []string{`{"mode":"All"}`, `{"mode":"FromFailure"}`, `{"mode":"Operations","operations":["b"]}`} {
			code, out := callWith(alice, http.MethodPost, path, body, csrf)
			Expect(code).To(Equal(http.StatusOK), string(out))
			var want ui.RerunRequest
			Expect(json.Unmarshal([]byte(body), &want)).To(Succeed())
			r := get(nsA, "done").Spec.Rerun
			Expect(r).NotTo(BeNil())
			Expect(r.Mode).To(Equal(want.Mode))
			Expect(r.Operations).To(Equal(want.Operations))
			Expect(ids).NotTo(HaveKey(r.ID), "each rerun needs a new id")
			ids[r.ID] = true
		}

		code, out := callWith(alice, http.MethodPost, "/api/agendas/"+nsB+"/theirs/rerun", `{"mode":"All"}`, csrf)
		Expect(code).To(Equal(http.StatusForbidden), string(out))
		Expect(string(out)).To(ContainSubstring(`User \"alice\" cannot patch resource \"agendas\"`))
		code, out = callWith(bob, http.MethodPost, "/api/agendas/"+nsB+"/theirs/rerun", `{"mode":"All"}`, csrf)
		Expect(code).To(Equal(http.StatusForbidden), string(out))
		Expect(get(nsB, "theirs").Spec.Rerun).To(BeNil())

		for body, headers := range map[string]map[string]string{
			`{"mode":"Sometimes"}`:  csrf,
			`{"mode":"Operations"}`: csrf,
			`not json`:              csrf,
			`{"mode":"All"}`:        nil, // no X-Requested-By: not from the page
		} {
			code, out := callWith(alice, http.MethodPost, path, body, headers)
			Expect(code).To(Equal(http.StatusBadRequest), body+": "+string(out))
		}
	})

	It("suspends and resumes an Agenda as its customer; another customer gets the API server's 403", func() {
		Expect(env.Client.Create(ctx, builders.MakeAgenda("long", nsA).Op("a", "echo").Obj())).To(Succeed())
		Expect(env.Client.Create(ctx, builders.MakeAgenda("theirs", nsB).Op("a", "echo").Obj())).To(Succeed())
		code, out := callWith(alice, http.MethodPost, "/api/agendas/"+nsA+"/long/suspend", "", csrf)
		Expect(code).To(Equal(http.StatusOK), string(out))
		Expect(get(nsA, "long").Spec.Suspend).To(BeTrue())
		Expect(string(out)).To(ContainSubstring(`"suspended":true`))
		code, out = callWith(alice, http.MethodPost, "/api/agendas/"+nsA+"/long/resume", "", csrf)
		Expect(code).To(Equal(http.StatusOK), string(out))
		Expect(get(nsA, "long").Spec.Suspend).To(BeFalse())

		code, out = callWith(alice, http.MethodPost, "/api/agendas/"+nsB+"/theirs/suspend", "", csrf)
		Expect(code).To(Equal(http.StatusForbidden), string(out))
		code, out = callWith(bob, http.MethodPost, "/api/agendas/"+nsB+"/theirs/suspend", "", csrf)
		Expect(code).To(Equal(http.StatusForbidden), string(out), "bob may only view")
		Expect(get(nsB, "theirs").Spec.Suspend).To(BeFalse())
		code, out = callWith(alice, http.MethodPost, "/api/agendas/"+nsA+"/long/suspend", "", nil)
		Expect(code).To(Equal(http.StatusBadRequest), "without X-Requested-By: "+string(out))
	})

	It("pauses and resumes an Insight for a platform user; a customer gets the API server's 403", func() {
		in := builders.MakeInsight("q", nsA).Obj()
		Expect(env.Client.Create(ctx, in)).To(Succeed())
		paused := func() bool {
			GinkgoHelper()
			Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(in), in)).To(Succeed())
			return in.Spec.Paused
		}
		code, out := call(alice, http.MethodPost, "/api/insights/"+nsA+"/q/pause")
		Expect(code).To(Equal(http.StatusForbidden), string(out))
		Expect(string(out)).To(ContainSubstring(`User \"alice\" cannot patch resource \"insights\"`))
		Expect(paused()).To(BeFalse())

		code, out = call(platform, http.MethodPost, "/api/insights/"+nsA+"/q/pause")
		Expect(code).To(Equal(http.StatusOK), string(out))
		Expect(paused()).To(BeTrue())
		code, out = call(platform, http.MethodPost, "/api/insights/"+nsA+"/q/resume")
		Expect(code).To(Equal(http.StatusOK), string(out))
		Expect(paused()).To(BeFalse())
	})

	It("shows an operation's resolved payload, attempts and Pod to its customer, and 403 to another", func() {
		ag := builders.MakeAgenda("detail", nsA).Op("probe", "echo", map[string]any{"ask": "@<agenda.params::/x>"}).Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		ag = get(nsA, "detail")
		pod := podspec.Build(podspec.Input{Agenda: ag, Operation: &ag.Spec.Operations[0],
			Handler: &popv1.HandlerTypeSpec{Image: "pop-handlers/echo:dev"}, Attempt: 1,
			Payload: []byte(`{"ask":"resolved-value"}`), Customer: "a"})
		Expect(env.Client.Create(ctx, pod)).To(Succeed())
		pod.Status.Phase = corev1.PodFailed
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: podspec.ContainerName,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error", Message: "boom"}}}}
		Expect(env.Client.Status().Update(ctx, pod)).To(Succeed())
		ag.Status.Phase = popv1.PhaseRunning
		ag.Status.Operations = []popv1.OperationStatus{{Name: "probe", State: popv1.OperationExecuting, Attempts: 1, Pod: pod.Name, Message: "attempt 1 failed"}}
		Expect(env.Client.Status().Update(ctx, ag)).To(Succeed())

		var d ui.OperationDetail
		getJSON(alice, "/api/agendas/"+nsA+"/detail/operations/probe", &d)
		Expect(d.Payload).To(MatchJSON(`{"ask":"@<agenda.params::/x>"}`))
		Expect(d.ResolvedPayload).To(Equal(`{"ask":"resolved-value"}`))
		Expect(d.Pod).To(Equal(pod.Name))
		Expect(d.Message).To(Equal("attempt 1 failed"))
		Expect(d.AttemptPods).To(ConsistOf(And(HaveField("Attempt", 1), HaveField("Name", pod.Name),
			HaveField("Phase", "Failed"), HaveField("ExitCode", HaveValue(Equal(int32(3)))), HaveField("Message", "boom"))))

		code, out := call(alice, http.MethodGet, "/api/agendas/"+nsA+"/detail/operations/nope")
		Expect(code).To(Equal(http.StatusNotFound), string(out))
		code, out = call(alice, http.MethodGet, "/api/agendas/"+nsA+"/detail/operations/probe/log?tail=5000")
		Expect(code).To(Equal(http.StatusBadRequest), string(out))

		// bob may read his own namespace only: the API server refuses the Agenda, the Pods and
		// the log, whichever he asks for.
		for _, path := range []string{"/api/agendas/" + nsA + "/detail/operations/probe", "/api/agendas/" + nsA + "/detail/operations/probe/log"} {
			code, out := call(bob, http.MethodGet, path)
			Expect(code).To(Equal(http.StatusForbidden), path+": "+string(out))
			Expect(string(out)).To(ContainSubstring(`User \"bob\" cannot get resource \"agendas\"`))
		}
	})

	It("reads the log with the user's identity: pods/log is refused to a user who may read the Agenda but not Pods", func() {
		// carol may read Agendas in nsA but has no right on Pods or their logs.
		carol := identity{user: "carol"}
		grantAgendaReader(nsA, "carol")
		ag := builders.MakeAgenda("logs", nsA).Op("x", "echo").Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		ag = get(nsA, "logs")
		Expect(env.Client.Create(ctx, podspec.Build(podspec.Input{Agenda: ag, Operation: &ag.Spec.Operations[0],
			Handler: &popv1.HandlerTypeSpec{Image: "pop-handlers/echo:dev"}, Attempt: 1}))).To(Succeed())
		ag.Status.Operations = []popv1.OperationStatus{{Name: "x", State: popv1.OperationExecuting, Attempts: 1, Pod: podspec.Name(ag, "x", 1)}}
		Expect(env.Client.Status().Update(ctx, ag)).To(Succeed())

		code, out := call(carol, http.MethodGet, "/api/agendas/"+nsA+"/logs/operations/x/log")
		Expect(code).To(Equal(http.StatusForbidden), string(out))
		Expect(string(out)).To(ContainSubstring(`User \"carol\" cannot get resource \"pods/log\"`))
		code, out = call(carol, http.MethodGet, "/api/agendas/"+nsA+"/logs/operations/x")
		Expect(code).To(Equal(http.StatusForbidden), string(out))
		Expect(string(out)).To(ContainSubstring(`User \"carol\" cannot list resource \"pods\"`))
		// alice may: the API server answers an empty log for a Pod no kubelet runs (envtest
		// has none); real logs are read in test/e2e/ui_test.go.
		code, out = call(alice, http.MethodGet, "/api/agendas/"+nsA+"/logs/operations/x/log")
		Expect(code).To(Equal(http.StatusOK), string(out))
		Expect(out).To(BeEmpty())
	})
})
