package install

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/pop-operator/pop/test/framework"
)

// TestHelmUpgradeBringsNewCRDs installs an older chart — its Agenda CRD without the
// podCleanup field and the Position column — into an empty API server, upgrades to this
// tree's chart, and finds the new schema served: Helm never upgrades files under crds/, so
// the chart renders its CRDs as templates. Then helm uninstall removes the manager and the
// webhook configuration but keeps the CRDs (and so every Agenda).
func TestHelmUpgradeBringsNewCRDs(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run make test")
	}
	env := &envtest.Environment{}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	admin, err := env.AddUser(envtest.User{Name: "helm", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	raw, err := admin.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kubeconfig, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = apiextensionsv1.AddToScheme(scheme)
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	helm := framework.HelmBinary(t)
	run := func(args ...string) {
		t.Helper()
		framework.Tool(t, helm, append(args, "--kubeconfig", kubeconfig, "--namespace", "pop-system")...)
	}

	old := olderChart(t)
	run("install", "pop", old, "--create-namespace")
	if hasPodCleanup(t, c) {
		t.Fatal("the older chart's CRD already has podCleanup: the test setup is wrong")
	}
	run("upgrade", "pop", filepath.Join(framework.RepoRoot(), "charts", "pop"))
	if !hasPodCleanup(t, c) {
		t.Error("helm upgrade left the old Agenda CRD: spec.podCleanup is still missing")
	}
	if !hasColumn(t, c, "Position") {
		t.Error("helm upgrade left the old Agenda CRD: the Position column is still missing")
	}

	run("uninstall", "pop", "--wait")
	ctx := context.Background()
	if err := c.Get(ctx, client.ObjectKey{Namespace: "pop-system", Name: "pop-manager"}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		t.Errorf("after helm uninstall the manager Deployment: %v, want NotFound", err)
	}
	err = c.Get(ctx, client.ObjectKey{Name: "pop-validating-webhook-configuration"}, &admissionv1.ValidatingWebhookConfiguration{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("after helm uninstall the webhook configuration: %v, want NotFound", err)
	}
	for _, name := range []string{"agendas.pop.dev", "insights.pop.dev", "handlertypes.pop.dev"} {
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &apiextensionsv1.CustomResourceDefinition{}); err != nil {
			t.Errorf("helm uninstall removed CRD %s (or: %v): the keep policy failed", name, err)
		}
	}
}

// olderChart copies charts/pop into a temporary folder and takes the podCleanup field and
// the Position printer column out of its Agenda CRD, as an earlier release would lack them.
func olderChart(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pop")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(framework.RepoRoot(), "charts", "pop"))); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "files", "crds", "pop.dev_agendas.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	crd := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &crd.Object); err != nil {
		t.Fatal(err)
	}
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	v := versions[0].(map[string]any)
	unstructured.RemoveNestedField(v, "schema", "openAPIV3Schema", "properties", "spec", "properties", "podCleanup")
	cols, _, _ := unstructured.NestedSlice(v, "additionalPrinterColumns")
	var kept []any
	for _, col := range cols {
		if col.(map[string]any)["name"] != "Position" {
			kept = append(kept, col)
		}
	}
	v["additionalPrinterColumns"] = kept
	versions[0] = v
	if err := unstructured.SetNestedSlice(crd.Object, versions, "spec", "versions"); err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(crd.Object)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func agendaCRD(t *testing.T, c client.Client) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := c.Get(context.Background(), client.ObjectKey{Name: "agendas.pop.dev"}, crd); err != nil {
		t.Fatal(err)
	}
	return crd
}

func hasPodCleanup(t *testing.T, c client.Client) bool {
	_, ok := agendaCRD(t, c).Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["podCleanup"]
	return ok
}

func hasColumn(t *testing.T, c client.Client, name string) bool {
	for _, col := range agendaCRD(t, c).Spec.Versions[0].AdditionalPrinterColumns {
		if col.Name == name {
			return true
		}
	}
	return false
}
