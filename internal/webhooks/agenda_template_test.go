package webhooks

import (
	"context"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

func js(s string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(s)} }

func tplSpec() popv1.AgendaTemplateSpec {
	return popv1.AgendaTemplateSpec{
		Parameters: []popv1.TemplateParameter{{Name: "source", Type: "string", Required: true}, {Name: "n", Type: "integer", Default: js(`1`)}},
		Operations: []popv1.Operation{{Name: "a", Type: "echo", Payload: js(`"@<agenda.params::/source>"`)}},
	}
}

// TestTemplateUse: how an Agenda may use spec.template and spec.arguments, on create and
// update, with the operator namespace's template found after the Agenda's namespace.
func TestTemplateUse(t *testing.T) {
	s := runtime.NewScheme()
	_ = popv1.AddToScheme(s)
	shared := &popv1.AgendaTemplate{ObjectMeta: metav1.ObjectMeta{Name: "shared", Namespace: "pop-system"}, Spec: tplSpec()}
	v := &AgendaValidator{Reader: fake.NewClientBuilder().WithScheme(s).WithObjects(shared).Build(), OperatorNamespace: "pop-system"}
	mk := func(template, args string, ops ...string) *popv1.Agenda {
		ag := &popv1.Agenda{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "acme"}}
		ag.Spec.Template = template
		if args != "" {
			ag.Spec.Arguments = js(args)
		}
		for _, o := range ops {
			ag.Spec.Operations = append(ag.Spec.Operations, popv1.Operation{Name: o, Type: "echo"})
		}
		return ag
	}
	resolved := mk("shared", `{"source":"a"}`, "a")
	resolved.Annotations = map[string]string{popv1.TemplateAnnotation: "{}"}
	for name, tc := range map[string]struct {
		old, ag *popv1.Agenda
		want    string
	}{
		"bound from the operator namespace":      {ag: mk("shared", `{"source":"a"}`)},
		"missing template: the controller waits": {ag: mk("nowhere", `{"anything":1}`)},
		"required argument":                      {ag: mk("shared", `{"n":2}`), want: "spec.arguments.source: Required value"},
		"wrong type":                             {ag: mk("shared", `{"source":"a","n":"x"}`), want: "spec.arguments.n: Invalid value: must be of type integer"},
		"both":                                   {ag: mk("shared", `{"source":"a"}`, "a"), want: "spec.operations: Forbidden: give operations or spec.template, not both"},
		"arguments alone":                        {ag: mk("", `{"source":"a"}`, "a"), want: "spec.arguments: Forbidden: only with spec.template"},
		"the resolution":                         {old: mk("shared", `{"source":"a"}`), ag: resolved},
		"resolution without the annotation": {old: mk("shared", `{"source":"a"}`), ag: mk("shared", `{"source":"a"}`, "a"),
			want: "spec.operations: Forbidden"},
		"arguments changed once resolved": {old: resolved, ag: func() *popv1.Agenda {
			ag := resolved.DeepCopy()
			ag.Spec.Arguments = js(`{"source":"b"}`)
			return ag
		}(), want: "spec.arguments: Forbidden: cannot change once the template was resolved"},
		"arguments fixed while unresolved": {old: mk("shared", `{}`), ag: mk("shared", `{"source":"b"}`)},
	} {
		t.Run(name, func(t *testing.T) {
			var err error
			if tc.old == nil {
				_, err = v.ValidateCreate(context.Background(), tc.ag)
			} else {
				_, err = v.ValidateUpdate(context.Background(), tc.old, tc.ag)
			}
			if tc.want == "" && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestValidateTemplate(t *testing.T) {
	for name, tc := range map[string]struct {
		change func(*popv1.AgendaTemplateSpec)
		want   string
	}{
		"valid":              {change: func(*popv1.AgendaTemplateSpec) {}},
		"declared twice":     {change: func(s *popv1.AgendaTemplateSpec) { s.Parameters[1].Name = "source" }, want: `spec.parameters[1].name: Invalid value: "source" is declared twice`},
		"default wrong type": {change: func(s *popv1.AgendaTemplateSpec) { s.Parameters[1].Default = js(`"x"`) }, want: "spec.parameters[1].default: Invalid value: must be of type integer"},
		"graph":              {change: func(s *popv1.AgendaTemplateSpec) { s.Operations[0].DependsOn = []string{"zz"} }, want: `spec.operations[0].dependsOn[0]`},
	} {
		t.Run(name, func(t *testing.T) {
			spec := tplSpec()
			tc.change(&spec)
			errs := ValidateTemplate(&spec)
			got := errs.ToAggregate()
			if tc.want == "" && got != nil {
				t.Fatalf("refused: %v", got)
			}
			if tc.want != "" && (got == nil || !strings.Contains(got.Error(), tc.want)) {
				t.Fatalf("got %v, want %q", got, tc.want)
			}
		})
	}
}
