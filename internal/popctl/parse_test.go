package popctl

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseAgenda(t *testing.T) {
	pop := `{"agendaId": "Ingest-42", "params": {"asset": "a.mp4"}, "operations": [
	  {"name": "probe", "type": "sample", "payload": {"x": 1}},
	  {"name": "publish", "type": "echo", "payload": "@<probe.out>", "params": {"dependsOn": "probe"}}]}`
	ag, err := ParseAgenda([]byte(pop), "")
	if err != nil {
		t.Fatal(err)
	}
	if ag.Name != "ingest-42" || len(ag.Spec.Operations) != 2 || !strings.Contains(string(ag.Spec.Operations[1].Params.Raw), `"dependsOn":"probe"`) {
		t.Errorf("POP JSON parsed as %+v", ag)
	}
	manifest := "apiVersion: pop.dev/v1alpha1\nkind: Agenda\nmetadata: {name: m}\nspec:\n  operations: [{name: a, type: echo}]\n"
	if ag, err := ParseAgenda([]byte(manifest), "renamed"); err != nil || ag.Name != "renamed" {
		t.Errorf("manifest: %v %v", ag, err)
	}
	if _, err := ParseAgenda([]byte("kind: Insight\n"), ""); err == nil || !strings.Contains(err.Error(), "want Agenda") {
		t.Errorf("an Insight was accepted: %v", err)
	}
	if _, err := ParseAgenda([]byte("kind: Agenda\nspec: {operationz: []}\n"), ""); err == nil {
		t.Error("an unknown field in a manifest was accepted")
	}
}

func TestCustomerObjects(t *testing.T) {
	opts := CustomerOptions{Editors: []string{"alice"}, Pods: 10, CPU: "4", Memory: "8Gi", DefaultCPU: "50m", DefaultMemory: "64Mi"}
	objs, err := CustomerObjects("acme", opts)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, fmt.Sprintf("%T/%s/%s", o, o.GetNamespace(), o.GetName()))
	}
	want := []string{"*v1.Namespace//acme", "*v1.ResourceQuota/acme/pop-customer", "*v1.LimitRange/acme/pop-customer", "*v1.RoleBinding/acme/pop-customer-edit"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	if objs[0].GetLabels()["pop.dev/customer"] != "acme" || objs[0].GetLabels()["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace labels %v", objs[0].GetLabels())
	}
	if _, err := CustomerObjects("bad id!", opts); err == nil {
		t.Error("an invalid id was accepted")
	}
	opts.CPU = "lots"
	if _, err := CustomerObjects("acme", opts); err == nil || !strings.Contains(err.Error(), "--quota-cpu") {
		t.Errorf("a bad quantity was accepted: %v", err)
	}
}
