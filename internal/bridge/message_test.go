package bridge

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

const popJSON = `{"agendaId": "job-1", "customerId": "acme", "cid": "x", "agendaInsight": {"name": "q"},
	"params": {"a": 1},
	"operations": [
		{"name": "probe", "type": "echo", "payload": {"f": "@<agenda.params::/a>"}},
		{"name": "encode", "type": "sample", "payload": "@<probe.out::/f>", "params": {"dependsOn": "probe"}}]}`

func TestParseAcceptsPOPAgendaJSONAsIs(t *testing.T) {
	sub, rej := Parse([]byte(popJSON), 1<<20)
	if rej != nil {
		t.Fatal(rej)
	}
	if sub.CustomerID != "acme" || sub.Key != "job-1" || len(sub.Spec.Operations) != 2 {
		t.Fatalf("got %+v", sub)
	}
	if string(sub.Spec.Params.Raw) != `{"a": 1}` || sub.Spec.Operations[1].Params == nil {
		t.Errorf("params not carried: %s, %v", sub.Spec.Params.Raw, sub.Spec.Operations[1].Params)
	}
}

func TestParseEnvelope(t *testing.T) {
	body := `{"customerId": "acme", "agendaId": "k", "priority": 5, "insight": "fast", "labels": {"team": "v"},
		"agenda": {"operations": [{"name": "a", "type": "echo"}]}}`
	sub, rej := Parse([]byte(body), 1<<20)
	if rej != nil {
		t.Fatal(rej)
	}
	if sub.Priority != 5 || sub.Insight != "fast" || sub.Labels["team"] != "v" {
		t.Errorf("got %+v", sub)
	}
}

func TestParseRejections(t *testing.T) {
	for name, tc := range map[string]struct {
		body, reason, detail string
	}{
		"not JSON":         {`{"operations": [`, RejectNotJSON, "unexpected end"},
		"too large":        {strings.Repeat(" ", 101) + "{}", RejectTooLarge, "limit is 100"},
		"no customer":      {`{"agendaId": "k", "operations": [{"name": "a", "type": "echo"}]}`, RejectMissingField, "customerId: required"},
		"no key":           {`{"customerId": "c", "operations": [{"name": "a", "type": "echo"}]}`, RejectMissingField, "agendaId: required"},
		"bad customer":     {`{"customerId": "a b", "agendaId": "k", "operations": [{"name": "a", "type": "echo"}]}`, RejectMissingField, "customerId:"},
		"no operations":    {`{"customerId": "c", "agendaId": "k", "operations": []}`, RejectInvalidAgenda, "at least one operation"},
		"operations typed": {`{"customerId": "c", "agendaId": "k", "operations": {}}`, RejectInvalidAgenda, "agenda:"},
		"unknown ref": {`{"customerId": "c", "agendaId": "k", "agenda": {"operations": [{"name": "a", "type": "echo", "payload": "@<x.out>"}]}}`,
			RejectInvalidAgenda, "agenda.operations[0].payload"},
		"bare unknown ref": {`{"customerId": "c", "agendaId": "k", "operations": [{"name": "a", "type": "echo", "payload": "@<x.out>"}]}`,
			RejectInvalidAgenda, "operations[0].payload"},
		"reserved label": {`{"customerId": "c", "agendaId": "k", "labels": {"pop.dev/customer": "other"}, "agenda": {"operations": [{"name": "a", "type": "echo"}]}}`,
			RejectInvalidAgenda, "reserved"},
	} {
		t.Run(name, func(t *testing.T) {
			_, rej := Parse([]byte(tc.body), 100)
			if name != "too large" {
				_, rej = Parse([]byte(tc.body), 1<<20)
			}
			if rej == nil || rej.Reason != tc.reason || !strings.Contains(rej.Detail, tc.detail) {
				t.Fatalf("got %v, want %s containing %q", rej, tc.reason, tc.detail)
			}
		})
	}
}

func TestAgendaNameIsDeterministicValidAndKeepsKeysApart(t *testing.T) {
	seen := map[string]string{}
	for _, key := range []string{"Job-42", "job-42", "job_42", "日本", "", strings.Repeat("x", 300), "a/b", "a.b"} {
		n := AgendaName("acme", key)
		if n != AgendaName("acme", key) {
			t.Fatalf("%q: not deterministic", key)
		}
		if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 || len(n) > 63 {
			t.Errorf("%q -> %q: %v", key, n, errs)
		}
		if prev, dup := seen[n]; dup {
			t.Errorf("%q and %q share the name %q", prev, key, n)
		}
		seen[n] = key
	}
	if AgendaName("acme", "k") == AgendaName("other", "k") {
		t.Error("two customers' keys share a name")
	}
}

func TestRecordOf(t *testing.T) {
	done := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	ag := &popv1.Agenda{ObjectMeta: metav1.ObjectMeta{Name: "n", Namespace: "ns", ResourceVersion: "1234",
		Labels: map[string]string{SourceLabel: SourceSQS}, Annotations: map[string]string{KeyAnnotation: "job/1"}},
		Status: popv1.AgendaStatus{Phase: popv1.PhaseFailed, PercentComplete: 50, CompletionTime: &done,
			Conditions: []metav1.Condition{{Type: popv1.AgendaFailed, Status: metav1.ConditionTrue, Reason: "OperationFailed", Message: "op b failed"}},
			Operations: []popv1.OperationStatus{{Name: "a", State: popv1.OperationSucceeded, Attempts: 1}, {Name: "b", State: popv1.OperationFailed, Attempts: 3}}}}
	r := RecordOf(ag, "acme", done.Time, time.Hour)
	if r.AgendaID != "job/1" || r.Version != 1234 || r.State != "Failed" || r.Source != SourceSQS ||
		r.Reason != "OperationFailed" || r.Message != "op b failed" || len(r.Operations) != 2 ||
		r.CompletedAt != "2026-01-02T03:04:05Z" || r.ExpiresAt != done.Add(time.Hour).Unix() {
		t.Errorf("got %+v", r)
	}
}

// FuzzParse: any body either parses into a submission whose Agenda would be created with
// a valid name and holds operations or a template (never both, never neither), or is
// refused with a known reason; it never panics.
func FuzzParse(f *testing.F) {
	f.Add([]byte(popJSON))
	f.Add([]byte(`{"customerId": "c", "agendaId": "k", "agenda": {"operations": [{"name": "a", "type": "echo", "payload": "@<a.out>"}]}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"customerId": "c", "agendaId": "k", "template": "encode", "arguments": {"source": "s3://a"}}`))
	f.Add([]byte(`{"customerId": "c", "agendaId": "k", "agenda": {"template": "t", "operations": [], "arguments": null}}`))
	// Deep nesting in a payload: at the refs package's limit of 100 levels, over it, and
	// 6,000 levels (12 KB, which cost 380 MiB to validate before the limit).
	for _, depth := range []int{100, 101, 6000} {
		f.Add([]byte(`{"customerId": "c", "agendaId": "k", "agenda": {"operations": [{"name": "a", "type": "echo", "payload": ` +
			strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}]}}`))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sub, rej := Parse(body, 64<<10)
		if (sub == nil) == (rej == nil) {
			t.Fatalf("want exactly one of submission and rejection, got %v and %v", sub, rej)
		}
		if rej != nil {
			if rej.Reason == "" || rej.Detail == "" {
				t.Fatalf("rejection without reason or detail: %+v", rej)
			}
			return
		}
		if (len(sub.Spec.Operations) > 0) == (sub.Spec.Template != "") {
			t.Fatalf("want operations or a template, got %d operations and template %q", len(sub.Spec.Operations), sub.Spec.Template)
		}
		name := AgendaName(sub.CustomerID, sub.Key)
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			t.Fatalf("name %q: %v", name, errs)
		}
	})
}

// TestParseTemplate: a message may name an AgendaTemplate with arguments instead of
// carrying operations, in the original POP's JSON and in an envelope.
func TestParseTemplate(t *testing.T) {
	for name, body := range map[string]string{
		"POP JSON": `{"customerId": "acme", "agendaId": "k", "template": "encode", "arguments": {"source": "s3://a", "n": 2}}`,
		"envelope": `{"customerId": "acme", "agendaId": "k", "agenda": {"template": "encode", "arguments": {"source": "s3://a", "n": 2}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			sub, rej := Parse([]byte(body), 1<<20)
			if rej != nil {
				t.Fatal(rej)
			}
			if sub.Spec.Template != "encode" || string(sub.Spec.Arguments.Raw) != `{"source": "s3://a", "n": 2}` || sub.Spec.Operations != nil {
				t.Errorf("got %+v", sub.Spec)
			}
			ag := NewAgenda(sub, "acme")
			if ag.Spec.Template != "encode" || ag.Spec.Arguments == nil {
				t.Errorf("the Agenda lost the template: %+v", ag.Spec)
			}
		})
	}
	sub, rej := Parse([]byte(`{"customerId": "acme", "agendaId": "k", "template": "ping"}`), 1<<20)
	if rej != nil || sub.Spec.Template != "ping" || sub.Spec.Arguments != nil {
		t.Errorf("a template without arguments: %+v %v", sub, rej)
	}
}

func TestParseTemplateRejections(t *testing.T) {
	ops := `"operations": [{"name": "a", "type": "echo"}]`
	for name, tc := range map[string]struct{ body, detail string }{
		"both, POP JSON": {`{"customerId": "c", "agendaId": "k", "template": "t", ` + ops + `}`,
			"operations: give operations or template, not both"},
		"both, envelope": {`{"customerId": "c", "agendaId": "k", "agenda": {"template": "t", ` + ops + `}}`,
			"agenda.operations: give operations or agenda.template, not both"},
		"both, empty operations": {`{"customerId": "c", "agendaId": "k", "template": "t", "operations": []}`,
			"operations: give operations or template, not both"},
		"neither, POP JSON":    {`{"customerId": "c", "agendaId": "k"}`, "operations: at least one operation is required (or a template)"},
		"neither, envelope":    {`{"customerId": "c", "agendaId": "k", "agenda": {}}`, "at least one operation is required (or a template)"},
		"arguments alone":      {`{"customerId": "c", "agendaId": "k", "arguments": {"a": 1}, ` + ops + `}`, "arguments: only with template"},
		"arguments not object": {`{"customerId": "c", "agendaId": "k", "agenda": {"template": "t", "arguments": [1]}}`, "agenda.arguments: must be an object"},
		"bad template name":    {`{"customerId": "c", "agendaId": "k", "template": "Not A Name"}`, "template: a lowercase RFC 1123 subdomain"},
		"template not string":  {`{"customerId": "c", "agendaId": "k", "template": 1}`, "agenda:"},
		"too many arguments":   {`{"customerId": "c", "agendaId": "k", "template": "t", "arguments": {` + manyArgs(65) + `}}`, "arguments: 65 arguments; at most 64"},
	} {
		t.Run(name, func(t *testing.T) {
			sub, rej := Parse([]byte(tc.body), 1<<20)
			if rej == nil {
				t.Fatalf("accepted: %+v", sub)
			}
			if rej.Reason != RejectInvalidAgenda || !strings.Contains(rej.Detail, tc.detail) {
				t.Errorf("got %s: %s; want %s containing %q", rej.Reason, rej.Detail, RejectInvalidAgenda, tc.detail)
			}
		})
	}
}

func manyArgs(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `"a` + strings.Repeat("x", i) + `": 1`
	}
	return strings.Join(parts, ", ")
}
