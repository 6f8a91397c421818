package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/pop-operator/pop/test/framework"
)

// TestShippedUIDeploymentsStart parses the args of every shipped pop-ui Deployment (config/ui,
// the chart with ui.enabled=true in both auth modes) with pop-ui's own flag set, and checks
// the command is the image's binary (hack/images: /pop-ui).
func TestShippedUIDeploymentsStart(t *testing.T) {
	helm := func(values ...string) []byte {
		args := append([]string{"template", "pop", "charts/pop", "--namespace", "pop-system", "--set", "ui.enabled=true"}, values...)
		return framework.Tool(t, framework.HelmBinary(t), args...)
	}
	variants := map[string]struct {
		stream []byte
		auth   string
	}{
		"kustomize config/ui": {framework.Tool(t, framework.KubectlBinary(t), "kustomize", "config/ui"), "proxy"},
		"helm ui.enabled":     {helm(), "proxy"},
		"helm ui.auth=token":  {helm("--set", "ui.auth=token"), "token"},
	}
	for name, v := range variants {
		dep := uiDeployment(t, v.stream)
		if dep == nil {
			t.Fatalf("%s: no Deployment pop-ui", name)
		}
		c := dep.Spec.Template.Spec.Containers[0]
		if len(c.Command) != 1 || c.Command[0] != "/pop-ui" {
			t.Errorf("%s: command %v, the image's binary is /pop-ui", name, c.Command)
		}
		o, err := parseArgs(c.Args, io.Discard)
		if err != nil {
			t.Fatalf("%s: pop-ui refuses its args %q: %v", name, c.Args, err)
		}
		if o.auth != v.auth {
			t.Errorf("%s: auth %q, want %q", name, o.auth, v.auth)
		}
	}
	if _, err := parseArgs([]string{"--auth=sometimes"}, io.Discard); err == nil {
		t.Error("parseArgs accepted --auth=sometimes")
	}
	if _, err := parseArgs([]string{"--no-such-flag"}, io.Discard); err == nil {
		t.Error("parseArgs accepted --no-such-flag")
	}
}

func uiDeployment(t *testing.T, stream []byte) *appsv1.Deployment {
	t.Helper()
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(stream), 4096)
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
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
		if dep.Name == "pop-ui" {
			return dep
		}
	}
}
