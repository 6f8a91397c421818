package popctl

import (
	"strings"
	"testing"
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

func TestCustomerNamespace(t *testing.T) {
	ns, err := CustomerNamespace("acme", "")
	if err != nil || ns.Name != "acme" || ns.Labels["pop.dev/customer"] != "acme" ||
		ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("got %+v, %v", ns, err)
	}
	if _, err := CustomerNamespace("bad id!", ""); err == nil {
		t.Error("an invalid id was accepted")
	}
}
