package popctl

import (
	"bytes"
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
)

// TestSuspendResume: popctl suspend sets spec.suspend, popctl resume clears it.
func TestSuspendResume(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := popv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	ag := builders.MakeAgenda("job", "acme").Op("a", "echo").Obj()
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(ag).Build()
	for _, step := range []struct {
		cmd  string
		want bool
	}{{"suspend", true}, {"resume", false}} {
		var out, errOut bytes.Buffer
		root := NewRootForClient(&out, &errOut, c, "acme")
		root.SetArgs([]string{step.cmd, "job"})
		if err := root.Execute(); err != nil {
			t.Fatalf("%s: %v (%s)", step.cmd, err, errOut.String())
		}
		var cur popv1.Agenda
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(ag), &cur); err != nil {
			t.Fatal(err)
		}
		if cur.Spec.Suspend != step.want {
			t.Errorf("after popctl %s: spec.suspend = %v, want %v", step.cmd, cur.Spec.Suspend, step.want)
		}
	}
}
