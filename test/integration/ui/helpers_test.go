package ui_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// platform is the identity of a platform operator (cluster-admin through system:masters).
var platform = identity{user: "ops", groups: "system:masters"}

type identity struct{ user, groups string }

// call makes a request to the UI as who and returns the status and body; a POST carries the
// page's X-Requested-By header.
func call(who identity, method, path string) (int, []byte) {
	GinkgoHelper()
	return callWith(who, method, path, "", map[string]string{"X-Requested-By": "pop-ui"})
}

// callWith makes a request with a body and exactly the given extra headers.
func callWith(who identity, method, path, body string, headers map[string]string) (int, []byte) {
	GinkgoHelper()
	req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, strings.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	setIdentity(req.Header, who)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return resp.StatusCode, out
}

func setIdentity(h http.Header, who identity) {
	if who.user != "" {
		h.Set("X-Remote-User", who.user)
	}
	if who.groups != "" {
		h.Set("X-Remote-Group", who.groups)
	}
}

// getJSON calls GET path as who, expects 200 and decodes the body into v.
func getJSON(who identity, path string, v any) {
	GinkgoHelper()
	code, body := call(who, http.MethodGet, path)
	Expect(code).To(Equal(http.StatusOK), string(body))
	Expect(json.Unmarshal(body, v)).To(Succeed())
}

// events opens a server-sent-event stream as who and returns its decoded data lines.
func events(who identity, path string) (<-chan string, func()) {
	GinkgoHelper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
	Expect(err).NotTo(HaveOccurred())
	setIdentity(req.Header, who)
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.StatusCode).To(Equal(http.StatusOK))
	Expect(resp.Header.Get("Content-Type")).To(Equal("text/event-stream"))
	out := make(chan string, 100)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				out <- data
			}
		}
	}()
	return out, func() { _ = resp.Body.Close() }
}

// setOpState writes an operation's state into the Agenda's status, as the controller would.
func setOpState(a *popv1.Agenda, phase popv1.AgendaPhase, op string, state popv1.OperationState) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(a), a)).To(Succeed())
		a.Status.Phase = phase
		found := false
		for i := range a.Status.Operations {
			if a.Status.Operations[i].Name == op {
				a.Status.Operations[i].State, found = state, true
			}
		}
		if !found {
			a.Status.Operations = append(a.Status.Operations, popv1.OperationStatus{Name: op, State: state})
		}
		g.Expect(env.Client.Status().Update(ctx, a)).To(Succeed())
	}, 10*time.Second).Should(Succeed())
}
