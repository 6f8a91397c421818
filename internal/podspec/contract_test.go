package podspec

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/handlers"
	"github.com/pop-operator/pop/pkg/handler"
)

// TestThePodCarriesTheHandlerContract ties the handler contract's three users together: the
// variables the built Pod's handler container gets are exactly handler.ReservedEnv (so that
// adding one to the Pod reserves it), a HandlerType setting any of them is refused, and
// pkg/handler reading that container's environment sees the run the Pod is for.
func TestThePodCarriesTheHandlerContract(t *testing.T) {
	in := contractInput()
	in.LastProgress = `{"percentComplete":40}`
	pod := Build(in)
	env := containerEnv(t, pod)

	names := make([]string, 0, len(env))
	for name := range env {
		names = append(names, name)
	}
	sort.Strings(names)
	reserved := handler.ReservedEnv()
	sort.Strings(reserved)
	if diff := cmp.Diff(reserved, names); diff != "" {
		t.Errorf("handler.ReservedEnv (-) against the variables the Pod gets (+):\n%s", diff)
	}

	for _, name := range reserved {
		spec := &popv1.HandlerTypeSpec{Image: "img:1", Env: []corev1.EnvVar{{Name: name, Value: "x"}}}
		if handlers.ValidateSpec(spec) == nil {
			t.Errorf("a HandlerType setting %s was accepted", name)
		}
	}

	seen, payload := runHandler(t, env)
	want := []string{"ingest", "probe", "acme", "acme-corp", "2"}
	got := []string{seen.Agenda, seen.Operation, seen.Namespace, seen.Customer, seen.Attempt}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("agenda, operation, namespace, customer, attempt pkg/handler reads from the Pod (-want +got):\n%s", diff)
	}
	if string(payload) != `{"a":1}` {
		t.Errorf("payload %s, want the resolved payload {\"a\":1}", payload)
	}
}

// containerEnv is the handler container's environment as the kubelet resolves it: values,
// and the Pod's own name for a metadata.name field reference.
func containerEnv(t *testing.T, pod *corev1.Pod) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, c := range pod.Spec.Containers {
		if c.Name != ContainerName {
			continue
		}
		for _, v := range c.Env {
			switch {
			case v.ValueFrom == nil:
				env[v.Name] = v.Value
			case v.ValueFrom.FieldRef != nil && v.ValueFrom.FieldRef.FieldPath == "metadata.name":
				env[v.Name] = pod.Name
			default:
				t.Errorf("%s: a source the test does not resolve: %+v", v.Name, v.ValueFrom)
			}
		}
	}
	return env
}

// runHandler runs a handler through pkg/handler with env as its environment and returns
// what it was given (agenda, operation, namespace, customer, attempt; payload).
func runHandler(t *testing.T, env map[string]string) (*handler.Context, json.RawMessage) {
	t.Helper()
	var seen *handler.Context
	var payload json.RawMessage
	fn := func(c *handler.Context, p json.RawMessage) (any, error) {
		seen, payload = c, p
		return "ok", nil
	}
	out := filepath.Join(t.TempDir(), "termination-log")
	if code := handler.Run(context.Background(), fn, func(k string) string { return env[k] }, out, io.Discard); code != 0 {
		t.Fatalf("handler exited %d", code)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != `"ok"` {
		t.Errorf("termination message %q (%v), want the output \"ok\"", b, err)
	}
	return seen, payload
}
