package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/pop-operator/pop/test/framework"
)

// imageEntrypoint is where hack/images puts the manager binary in its image.
const imageEntrypoint = "/manager"

// shippedVariant is one way users install POP, rendered as they would render it.
type shippedVariant struct {
	name   string
	render func(t *testing.T) []byte
	// deployments are the Deployments the variant must contain.
	deployments []string
}

// TestShippedDeploymentsStart renders every Deployment POP ships — the Kustomize bases and
// the Helm chart under the values users set — and parses each container's args with the
// manager's own flag set and validation: a flag the binary does not know, or a value it
// refuses, fails here instead of crash-looping a user's Pod.
func TestShippedDeploymentsStart(t *testing.T) {
	account := "https://sqs.us-east-1.amazonaws.com/123456789012/"
	bridgeValues := []string{"--set", "bridge.intakeQueues={" + account + "pop-intake}",
		"--set", "bridge.deadLetterQueue=" + account + "pop-intake-dead-letters",
		"--set", "bridge.table=pop-agendas", "--set", "bridge.region=us-east-1"}
	variants := []shippedVariant{
		{"kustomize config/default", kustomize("config/default"), []string{"pop-manager"}},
		{"kustomize config/bridge", kustomize("config/bridge"), []string{"pop-bridge"}},
		{"helm defaults", helmTemplate(), []string{"pop-manager"}},
		{"helm webhook.certManager.enabled=true", helmTemplate("--set", "webhook.certManager.enabled=true"), []string{"pop-manager"}},
		{"helm webhook.enabled=false", helmTemplate("--set", "webhook.enabled=false"), []string{"pop-manager"}},
		{"helm replicas=2", helmTemplate("--set", "replicas=2"), []string{"pop-manager"}},
		{"helm bridge.mode=embedded", helmTemplate(bridgeValues...), []string{"pop-manager"}},
		{"helm bridge.mode=deployment", helmTemplate(append(bridgeValues, "--set", "bridge.mode=deployment", "--set", "bridge.requireSignatures=true")...),
			[]string{"pop-manager", "pop-bridge"}},
		{"helm bridge.capacityAware=true", helmTemplate(append(bridgeValues, "--set", "bridge.mode=deployment", "--set", "bridge.capacityAware=true")...),
			[]string{"pop-manager", "pop-bridge"}},
		{"helm bridge.customerQueues", helmTemplate("--set", "bridge.customerQueues.acme="+account+"pop-intake-acme",
			"--set", "bridge.customerQueues.beta="+account+"pop-intake-beta", "--set", "bridge.deadLetterQueue="+account+"pop-intake-dead-letters",
			"--set", "bridge.table=pop-agendas", "--set", "bridge.mode=deployment"), []string{"pop-manager", "pop-bridge"}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			deps := deploymentsIn(t, v.render(t))
			for _, want := range v.deployments {
				dep, ok := deps[want]
				if !ok {
					t.Fatalf("no Deployment %s rendered (have %v)", want, keys(deps))
				}
				checkDeployment(t, dep)
			}
		})
	}
}

// TestShippedDeploymentsCheckCatchesBadArgs shows the check above can fail: a flag the
// manager lacks and a value it refuses are both reported.
func TestShippedDeploymentsCheckCatchesBadArgs(t *testing.T) {
	for _, args := range [][]string{{"--no-such-flag"}, {"--kube-api-qps=0"}, {"--webhook-cert-mode=sometimes"}} {
		if _, err := parseArgs(args, io.Discard); err == nil {
			t.Errorf("parseArgs(%v) accepted them", args)
		}
	}
}

func checkDeployment(t *testing.T, dep *appsv1.Deployment) {
	t.Helper()
	spec := dep.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", dep.Name, len(spec.Containers))
	}
	c := spec.Containers[0]
	if len(c.Command) != 1 || c.Command[0] != imageEntrypoint {
		t.Errorf("%s: command %v, the image's binary is %s", dep.Name, c.Command, imageEntrypoint)
	}
	o, err := parseArgs(c.Args, io.Discard)
	if err != nil {
		t.Fatalf("%s: the manager refuses its args %q: %v", dep.Name, c.Args, err)
	}
	if dep.Spec.Replicas != nil && *dep.Spec.Replicas > 1 && !o.leaderElect {
		t.Errorf("%s: %d replicas without --leader-elect", dep.Name, *dep.Spec.Replicas)
	}
	if o.enableWebhooks && !hasVolumeMountAt(c.VolumeMounts, defaultWebhookCertDir) {
		t.Errorf("%s: serves the webhook but mounts nothing at %s", dep.Name, defaultWebhookCertDir)
	}
}

func hasVolumeMountAt(mounts []corev1.VolumeMount, path string) bool {
	for _, m := range mounts {
		if m.MountPath == path {
			return true
		}
	}
	return false
}

func deploymentsIn(t *testing.T, stream []byte) map[string]*appsv1.Deployment {
	t.Helper()
	out := map[string]*appsv1.Deployment{}
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(stream), 4096)
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatal(err)
		}
		if obj["kind"] != "Deployment" {
			continue
		}
		raw, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		dep := &appsv1.Deployment{}
		if err := json.Unmarshal(raw, dep); err != nil {
			t.Fatal(err)
		}
		out[dep.Name] = dep
	}
}

func keys(m map[string]*appsv1.Deployment) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func kustomize(dir string) func(t *testing.T) []byte {
	return func(t *testing.T) []byte {
		return framework.Tool(t, framework.KubectlBinary(t), "kustomize", dir)
	}
}

func helmTemplate(values ...string) func(t *testing.T) []byte {
	return func(t *testing.T) []byte {
		args := append([]string{"template", "pop", "charts/pop", "--namespace", "pop-system"}, values...)
		return framework.Tool(t, framework.HelmBinary(t), args...)
	}
}
