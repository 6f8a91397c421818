package dag

import (
	"fmt"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

func TestBuildRefusesASpecOverMaxSpecBytes(t *testing.T) {
	spec := &popv1.AgendaSpec{}
	big := &apiextensionsv1.JSON{Raw: []byte(`"` + strings.Repeat("x", 1000) + `"`)}
	for i := range 600 {
		spec.Operations = append(spec.Operations, popv1.Operation{Name: fmt.Sprintf("op-%d", i), Type: "h", Payload: big})
	}
	_, errs := Build(spec)
	if len(errs) != 1 || errs[0].Field != "spec" || !strings.Contains(errs[0].Error(), "may not be more than 524288") {
		t.Fatalf("errors %v, want one on spec naming the bound", errs)
	}
	spec.Operations = spec.Operations[:400]
	if _, errs := Build(spec); len(errs) != 0 {
		t.Fatalf("a spec of 400 KB: %v", errs)
	}
}
