package popctl

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

func TestParseArguments(t *testing.T) {
	got, err := ParseArguments([]string{"source=s3://in/a.mov", "bitrates=[800,1600]", "n=42", "on=true",
		`quoted="42"`, "empty=", "spaced=hello world", "obj={\"a\":1}", "eq=a=b"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(got)
	want := `{"bitrates":[800,1600],"empty":"","eq":"a=b","n":42,"obj":{"a":1},"on":true,"quoted":"42","source":"s3://in/a.mov","spaced":"hello world"}`
	if string(raw) != want {
		t.Errorf("ParseArguments = %s\nwant %s", raw, want)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"novalue"}, `-p "novalue": want key=value`},
		{[]string{"=1"}, "the key is empty"},
		{[]string{"a=1", "a=2"}, "-p a: given twice"},
		{make([]string, 65), "65 -p flags; a template has at most 64 parameters"},
	} {
		if _, err := ParseArguments(tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseArguments(%q) = %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestTemplateAgenda(t *testing.T) {
	ag, err := TemplateAgenda("encode", []string{"source=a"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if ag.GenerateName != "encode-" || ag.Spec.Template != "encode" || string(ag.Spec.Arguments.Raw) != `{"source":"a"}` || ag.Spec.Operations != nil {
		t.Errorf("TemplateAgenda = %+v", ag)
	}
	if ag, _ := TemplateAgenda("encode", nil, "mine"); ag.Name != "mine" || ag.Spec.Arguments != nil {
		t.Errorf("named, no arguments: %+v", ag)
	}
}

func TestRenderTemplates(t *testing.T) {
	created := metav1.NewTime(t0.Add(-3 * time.Hour))
	items := []popv1.AgendaTemplate{
		{ObjectMeta: metav1.ObjectMeta{Name: "encode", Namespace: "acme", CreationTimestamp: created},
			Spec: popv1.AgendaTemplateSpec{
				Parameters: []popv1.TemplateParameter{{Name: "source", Type: "string", Required: true},
					{Name: "bitrates", Type: "array", Default: &apiextensionsv1.JSON{Raw: []byte(`[800,1600]`)}}, {Name: "extra"}},
				Operations: []popv1.Operation{{Name: "probe", Type: "t"}, {Name: "encode", Type: "t"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "ping", Namespace: "pop-system", CreationTimestamp: created},
			Spec: popv1.AgendaTemplateSpec{Operations: []popv1.Operation{{Name: "ping", Type: "t"}}}},
	}
	var out bytes.Buffer
	if err := RenderTemplates(&out, items, t0); err != nil {
		t.Fatal(err)
	}
	golden(t, "templates.txt", out.Bytes())
}
