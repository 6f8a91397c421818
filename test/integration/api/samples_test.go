package api_test

import (
	"bytes"
	"io"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/pop-operator/pop/test/framework"
)

var _ = Describe("config/samples", func() {
	It("are all accepted by the API server", func() {
		ns, err := env.CreateNamespace(ctx, "samples", nil)
		Expect(err).NotTo(HaveOccurred())
		objs, err := framework.ReadManifests(filepath.Join(framework.RepoRoot(), "config", "samples"))
		Expect(err).NotTo(HaveOccurred())
		kinds := map[string]int{}
		for _, obj := range objs {
			obj.SetNamespace(ns)
			Expect(env.Client.Create(ctx, obj)).To(Succeed(), "creating %s %s", obj.GetKind(), obj.GetName())
			kinds[obj.GetKind()]++
		}
		Expect(kinds).To(HaveKeyWithValue("HandlerType", 2))
		Expect(kinds).To(HaveKeyWithValue("Insight", 3))
		Expect(kinds).To(HaveKeyWithValue("Agenda", 1))
	})
})

// kubectl runs the kubectl binary from KUBEBUILDER_ASSETS against the test control plane.
func kubectl(args ...string) string {
	GinkgoHelper()
	k := env.Env.ControlPlane.KubeCtl()
	stdout, stderr, err := k.Run(args...)
	var out, errOut bytes.Buffer
	_, _ = io.Copy(&out, stdout)
	_, _ = io.Copy(&errOut, stderr)
	Expect(err).NotTo(HaveOccurred(), "kubectl %v: %s", args, errOut.String())
	return out.String()
}

var _ = Describe("kubectl", func() {
	It("explains the documented Agenda fields", func() {
		out := kubectl("explain", "agenda.spec.operations")
		for _, field := range []string{"name", "type", "payload", "params", "dependsOn", "retries", "timeout", "resources"} {
			Expect(out).To(ContainSubstring(field))
		}
		Expect(out).To(ContainSubstring("dependsOn names operations that must succeed before this one starts"))
	})

	It("applies the samples and shows the printer columns", func() {
		ns, err := env.CreateNamespace(ctx, "kubectl", nil)
		Expect(err).NotTo(HaveOccurred())
		kubectl("apply", "-n", ns, "-f", filepath.Join(framework.RepoRoot(), "config", "samples"))
		out := kubectl("get", "-n", ns, "agendas,insights,handlertypes")
		for _, col := range []string{"PHASE", "INSIGHT", "PROGRESS", "ALGORITHM", "CAPACITY", "PENDING", "ADMITTED", "IMAGE", "AGE"} {
			Expect(out).To(ContainSubstring(col))
		}
		Expect(out).To(ContainSubstring("publish-trailer"))
		Expect(out).To(ContainSubstring("pop-handlers/hash:dev"))
		Expect(kubectl("get", "-n", ns, "pop")).To(ContainSubstring("agenda.pop.dev/publish-trailer"))
		Expect(kubectl("get", "-n", ns, "ag,ins,ht", "-o", "name")).To(ContainSubstring("insight.pop.dev/urgent"))
	})
})
