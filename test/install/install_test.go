// Package install checks the two ways to install POP: the Helm chart and the Kustomize base
// render the same objects for the same settings, and the chart lints clean.
package install

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/pop-operator/pop/test/framework"
)

// helmOnly are labels Helm adds that Kustomize has no reason to.
var helmOnly = []string{"helm.sh/chart", "app.kubernetes.io/managed-by"}

// objects decodes a YAML stream into objects keyed kind/namespace/name, normalized: the
// Namespace object (Helm's --create-namespace makes it) and Helm-only labels are dropped,
// and CRDs are compared without labels and without Helm's keep policy.
func objects(t *testing.T, stream []byte) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(stream), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatal(err)
		}
		if len(u.Object) == 0 || u.GetKind() == "Namespace" {
			continue
		}
		labels := u.GetLabels()
		for _, l := range helmOnly {
			delete(labels, l)
		}
		if u.GetKind() == "CustomResourceDefinition" {
			labels = nil
			ann := u.GetAnnotations()
			delete(ann, "helm.sh/resource-policy")
			u.SetAnnotations(ann)
		}
		u.SetLabels(labels)
		out[u.GetKind()+"/"+u.GetNamespace()+"/"+u.GetName()] = u.Object
	}
}

func TestHelmAndKustomizeRenderTheSameObjects(t *testing.T) {
	helm := framework.Tool(t, framework.HelmBinary(t), "template", "pop", "charts/pop", "--namespace", "pop-system")
	kustomize := framework.Tool(t, framework.KubectlBinary(t), "kustomize", "config/default")
	h, k := objects(t, helm), objects(t, kustomize)
	if len(h) < 10 {
		t.Fatalf("helm rendered only %d objects", len(h))
	}
	for key := range k {
		if _, ok := h[key]; !ok {
			t.Errorf("%s: rendered by Kustomize only", key)
		}
	}
	for key, obj := range h {
		if _, ok := k[key]; !ok {
			t.Errorf("%s: rendered by Helm only", key)
			continue
		}
		if diff := cmp.Diff(k[key], obj); diff != "" {
			t.Errorf("%s: Kustomize (-) and Helm (+) differ:\n%s", key, diff)
		}
	}
}

func TestHelmLint(t *testing.T) {
	out := framework.Tool(t, framework.HelmBinary(t), "lint", "--strict", "charts/pop")
	if !strings.Contains(string(out), "0 chart(s) failed") {
		t.Errorf("helm lint:\n%s", out)
	}
}

// TestHelmAndKustomizeRenderTheSameBridge compares the chart's bridge in deployment mode
// with config/bridge, for the example settings config/bridge carries.
func TestHelmAndKustomizeRenderTheSameBridge(t *testing.T) {
	account := "https://sqs.us-east-1.amazonaws.com/123456789012/"
	helm := framework.Tool(t, framework.HelmBinary(t), "template", "pop", "charts/pop", "--namespace", "pop-system",
		"--set", "bridge.mode=deployment", "--set", "bridge.intakeQueues={"+account+"pop-intake}",
		"--set", "bridge.deadLetterQueue="+account+"pop-intake-dead-letters",
		"--set", "bridge.table=pop-agendas", "--set", "bridge.region=us-east-1")
	kustomize := framework.Tool(t, framework.KubectlBinary(t), "kustomize", "config/bridge")
	h, k := objects(t, helm), objects(t, kustomize)
	if len(k) != 6 {
		t.Fatalf("config/bridge rendered %d objects, want 6", len(k))
	}
	for key, obj := range k {
		if diff := cmp.Diff(obj, h[key]); diff != "" {
			t.Errorf("%s: Kustomize (-) and Helm (+) differ:\n%s", key, diff)
		}
	}
}

// TestHelmWebhookCertificateModes checks both ways the chart gives the webhook its
// certificate: self-managed (a Role for the Secret in its own namespace) or cert-manager
// (an Issuer and Certificate, the CA injected by annotation, no Secret rights).
func TestHelmWebhookCertificateModes(t *testing.T) {
	self := objects(t, framework.Tool(t, framework.HelmBinary(t), "template", "pop", "charts/pop", "--namespace", "pop-system"))
	if _, ok := self["Role/pop-system/pop-webhook-cert-role"]; !ok {
		t.Error("self-managed: no Role for the certificate Secret")
	}
	if _, ok := self["Certificate/pop-system/pop-serving-cert"]; ok {
		t.Error("self-managed: a cert-manager Certificate was rendered")
	}
	cm := objects(t, framework.Tool(t, framework.HelmBinary(t), "template", "pop", "charts/pop", "--namespace", "pop-system",
		"--set", "webhook.certManager.enabled=true"))
	for _, key := range []string{"Certificate/pop-system/pop-serving-cert", "Issuer/pop-system/pop-selfsigned-issuer"} {
		if _, ok := cm[key]; !ok {
			t.Errorf("cert-manager: %s missing", key)
		}
	}
	if _, ok := cm["Role/pop-system/pop-webhook-cert-role"]; ok {
		t.Error("cert-manager: the manager still gets Secret rights")
	}
	vwc := cm["ValidatingWebhookConfiguration//pop-validating-webhook-configuration"]
	ann, _, _ := unstructured.NestedStringMap(vwc, "metadata", "annotations")
	if ann["cert-manager.io/inject-ca-from"] != "pop-system/pop-serving-cert" {
		t.Errorf("cert-manager: CA injection annotation is %q", ann["cert-manager.io/inject-ca-from"])
	}
	args, _, _ := unstructured.NestedSlice(cm["Deployment/pop-system/pop-manager"], "spec", "template", "spec", "containers")
	if !strings.Contains(fmt.Sprint(args), "--webhook-cert-mode=external") {
		t.Error("cert-manager: the manager does not read a mounted certificate")
	}
}

// TestHelmAndKustomizeRenderTheSameUI compares the chart's UI (ui.enabled=true) with
// config/ui, checks that the default renders no UI object, and that the UI's own
// ServiceAccount may only impersonate users and groups (proxy mode) or nothing (token mode).
func TestHelmAndKustomizeRenderTheSameUI(t *testing.T) {
	helm := objects(t, framework.Tool(t, framework.HelmBinary(t), "template", "pop", "charts/pop", "--namespace", "pop-system",
		"--set", "ui.enabled=true"))
	kustomize := objects(t, framework.Tool(t, framework.KubectlBinary(t), "kustomize", "config/ui"))
	if len(kustomize) != 6 {
		t.Fatalf("config/ui rendered %d objects, want 6", len(kustomize))
	}
	for key, obj := range kustomize {
		if diff := cmp.Diff(obj, helm[key]); diff != "" {
			t.Errorf("%s: Kustomize (-) and Helm (+) differ:\n%s", key, diff)
		}
	}
	for key, obj := range objects(t, framework.Tool(t, framework.HelmBinary(t), "template", "pop", "charts/pop", "--namespace", "pop-system")) {
		if labels, _, _ := unstructured.NestedStringMap(obj, "metadata", "labels"); labels["app.kubernetes.io/component"] == "ui" {
			t.Errorf("ui.enabled=false renders %s", key)
		}
	}
	rules, _, _ := unstructured.NestedSlice(helm["ClusterRole//pop-ui-impersonator"], "rules")
	if want := []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"users", "groups"}, "verbs": []any{"impersonate"}}}; !cmp.Equal(rules, want) {
		t.Errorf("the UI's ClusterRole is %v, want only %v", rules, want)
	}
	token := objects(t, framework.Tool(t, framework.HelmBinary(t), "template", "pop", "charts/pop", "--namespace", "pop-system",
		"--set", "ui.enabled=true", "--set", "ui.auth=token"))
	for key := range token {
		if strings.HasPrefix(key, "ClusterRole") && strings.Contains(key, "pop-ui") {
			t.Errorf("ui.auth=token renders %s: the UI needs no right of its own then", key)
		}
	}
	args, _, _ := unstructured.NestedSlice(token["Deployment/pop-system/pop-ui"], "spec", "template", "spec", "containers")
	if !strings.Contains(fmt.Sprint(args), "--auth=token") {
		t.Errorf("ui.auth=token: the UI is not started with --auth=token: %v", args)
	}
}
