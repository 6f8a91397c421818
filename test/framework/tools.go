package framework

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Tool runs a command-line tool from the repository's top folder and returns its output,
// failing the test with its stderr when it fails.
func Tool(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = RepoRoot()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, stderr.String())
	}
	return out
}

// HelmBinary is the helm that hack/helm.sh provides (built once, cached).
func HelmBinary(t *testing.T) string {
	t.Helper()
	return strings.TrimSpace(string(Tool(t, filepath.Join(RepoRoot(), "hack", "helm.sh"))))
}

// KubectlBinary is the kubectl of the envtest binaries.
func KubectlBinary(t *testing.T) string {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set (kubectl comes from there): run make test")
	}
	return filepath.Join(assets, "kubectl")
}
