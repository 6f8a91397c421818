package templates

import (
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

func js(s string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(s)} }

func encodeTemplate() *popv1.AgendaTemplateSpec {
	ttl := int32(60)
	return &popv1.AgendaTemplateSpec{
		Parameters: []popv1.TemplateParameter{
			{Name: "source", Type: "string", Required: true},
			{Name: "bitrate", Type: "integer", Default: js(`800`)},
		},
		Operations:              []popv1.Operation{{Name: "encode", Type: "ffmpeg", Payload: js(`{"in":"@<agenda.params::/source>"}`)}},
		FailurePolicy:           popv1.ContinueIndependent,
		Timeout:                 &metav1.Duration{Duration: time.Hour},
		TTLSecondsAfterFinished: &ttl,
	}
}

// TestResolve: the template's operations, the arguments bound over the Agenda's own params,
// and the template-level fields by their rule.
func TestResolve(t *testing.T) {
	ag := &popv1.AgendaSpec{Template: "encode", Arguments: js(`{"source":"s3://a"}`),
		Params: js(`{"defaultInsight":"gpu","bitrate":1}`), FailurePolicy: popv1.FailFast,
		Timeout: &metav1.Duration{Duration: time.Minute}}
	got, err := Resolve(encodeTemplate(), ag)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Operations) != 1 || got.Operations[0].Name != "encode" {
		t.Errorf("operations = %+v, want the template's", got.Operations)
	}
	if want := `{"bitrate":800,"defaultInsight":"gpu","source":"s3://a"}`; string(got.Params.Raw) != want {
		t.Errorf("params = %s, want %s", got.Params.Raw, want)
	}
	if got.FailurePolicy != popv1.ContinueIndependent {
		t.Errorf("failurePolicy = %s, want the template's", got.FailurePolicy)
	}
	if got.Timeout.Duration != time.Minute {
		t.Errorf("timeout = %s, want the Agenda's own 1m", got.Timeout.Duration)
	}
	if got.TTLSecondsAfterFinished == nil || *got.TTLSecondsAfterFinished != 60 {
		t.Errorf("ttlSecondsAfterFinished = %v, want the template's 60", got.TTLSecondsAfterFinished)
	}
	if got.Template != "encode" || string(got.Arguments.Raw) != `{"source":"s3://a"}` {
		t.Errorf("template/arguments changed: %q %s", got.Template, got.Arguments.Raw)
	}
	if ag.Operations != nil {
		t.Error("Resolve changed the Agenda it was given")
	}
}

func TestResolveRefusals(t *testing.T) {
	for _, tc := range []struct{ name, args, params, want string }{
		{"required argument left out", `{}`, ``, "spec.arguments.source: required"},
		{"no arguments at all", ``, ``, "spec.arguments.source: required"},
		{"arguments not an object", `[1]`, ``, "spec.arguments: must be an object"},
		{"unknown argument", `{"source":"a","x":1}`, ``, "spec.arguments.x: unknown parameter"},
		{"wrong type", `{"source":"a","bitrate":"fast"}`, ``, "spec.arguments.bitrate: must be of type integer"},
		{"params not an object", `{"source":"a"}`, `"x"`, "spec.params: must be an object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ag := &popv1.AgendaSpec{Template: "encode"}
			if tc.args != "" {
				ag.Arguments = js(tc.args)
			}
			if tc.params != "" {
				ag.Params = js(tc.params)
			}
			_, err := Resolve(encodeTemplate(), ag)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Resolve = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	if got, want := string(Defaults(encodeTemplate().Parameters).Raw), `{"bitrate":800,"source":null}`; got != want {
		t.Errorf("Defaults = %s, want %s", got, want)
	}
}
