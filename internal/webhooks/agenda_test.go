package webhooks

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
)

// TestValidateUpdateJudgesOnlyAChangedSpec: an Agenda stored before today's rules (here: an
// operation that depends on itself) can still be cancelled, relabelled and freed of its
// finalizer; a change to its operations is judged by today's rules.
func TestValidateUpdateJudgesOnlyAChangedSpec(t *testing.T) {
	stored := builders.MakeAgenda("old", "acme").Op("a", "echo").DependsOn("a").
		Op("b", "echo").Obj()
	stored.Finalizers = []string{"pop.dev/dynamodb-mirror"}
	tests := map[string]struct {
		change  func(ag *popv1.Agenda)
		running bool
		wantErr string
	}{
		"cancel":                {change: func(ag *popv1.Agenda) { ag.Spec.Cancel = true }},
		"cancel while running":  {change: func(ag *popv1.Agenda) { ag.Spec.Cancel = true }, running: true},
		"suspend while running": {change: func(ag *popv1.Agenda) { ag.Spec.Suspend = true }, running: true},
		"finalizer removed":     {change: func(ag *popv1.Agenda) { ag.Finalizers = nil }},
		"label added":           {change: func(ag *popv1.Agenda) { ag.Labels = map[string]string{"team": "video"} }},
		"operations changed": {
			change:  func(ag *popv1.Agenda) { ag.Spec.Operations[1].Type = "other" },
			wantErr: "spec.operations[0].dependsOn[0]",
		},
		"operations changed while running": {
			change:  func(ag *popv1.Agenda) { ag.Spec.Operations[1].Type = "other" },
			running: true, wantErr: "spec.operations: Forbidden: cannot change while the Agenda runs",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			old := stored.DeepCopy()
			if tc.running {
				meta.SetStatusCondition(&old.Status.Conditions, metav1.Condition{Type: popv1.AgendaAdmitted, Status: metav1.ConditionTrue, Reason: "Test"})
			}
			next := old.DeepCopy()
			tc.change(next)
			_, err := (&AgendaValidator{}).ValidateUpdate(context.Background(), old, next)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestValidateCreateCompilesWhen: a when condition is compiled at the door, its error given
// with the operation's field path.
func TestValidateCreateCompilesWhen(t *testing.T) {
	for expr, want := range map[string]string{
		`ops.a.phase == "Succeeded"`: "",
		`size(ops.a.phase)`:          `spec.operations[2].when: Invalid value: "size(ops.a.phase)": must be a boolean expression, not int`,
		`ops[name].phase == "x"`:     `spec.operations[2].when: Invalid value: "ops[name].phase == \"x\""`,
	} {
		ag := builders.MakeAgenda("ag", "acme").Op("a", "echo").Op("b", "echo").Op("c", "echo").When(expr).Obj()
		_, err := (&AgendaValidator{}).ValidateCreate(context.Background(), ag)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: refused: %v", expr, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: error %v, want one containing %q", expr, err, want)
		}
	}
}

// TestValidateCreateForEach: a malformed forEach, and the sources that exist only in a
// fan-out or a finally operation, are refused with their field paths.
func TestValidateCreateForEach(t *testing.T) {
	for name, tc := range map[string]struct {
		ag   *builders.AgendaWrapper
		want string
	}{
		"a reference": {ag: builders.MakeAgenda("ag", "acme").Op("scan", "echo").Op("b", "echo").
			Op("encode", "echo", map[string]any{"s": "@<item::/uri>", "i": "@<pop.index>"}).ForEach("@<scan.out::/segments>")},
		"a literal": {ag: builders.MakeAgenda("ag", "acme").Op("encode", "echo", "@<item>").ForEach([]any{1, 2})},
		"neither an array nor a whole reference": {
			ag:   builders.MakeAgenda("ag", "acme").Op("scan", "echo").Op("b", "echo").Op("encode", "echo").ForEach("x @<scan.out>"),
			want: `spec.operations[2].forEach: Invalid value: "x @<scan.out>": must be a JSON array or a whole reference`,
		},
		"an unknown operation": {
			ag:   builders.MakeAgenda("ag", "acme").Op("encode", "echo").ForEach("@<ghost.out::/x>"),
			want: `spec.operations[0].forEach: Invalid value: "@<ghost.out::/x>": unknown operation "ghost"`,
		},
		"@<item> outside a forEach operation": {
			ag:   builders.MakeAgenda("ag", "acme").Op("a", "echo", "@<item>"),
			want: `spec.operations[0].payload: Invalid value: "@<item>": @<item> exists only in the payload of an operation with forEach`,
		},
		"more than 10000 literal items": {
			ag:   builders.MakeAgenda("ag", "acme").Op("a", "echo").ForEach(make([]any, 10001)),
			want: `spec.operations[0].forEach: Invalid value: "[null,`,
		},
		"@<pop.phase> outside a finally operation": {
			ag:   builders.MakeAgenda("ag", "acme").Op("a", "echo", "@<pop.phase>"),
			want: `spec.operations[0].payload: Invalid value: "@<pop.phase>": @<pop.phase> exists only in the payload of a finally operation`,
		},
		"@<pop.phase> in a finally operation": {ag: builders.MakeAgenda("ag", "acme").Op("a", "echo").
			Op("report", "echo", map[string]any{"p": "@<pop.phase>", "f": "@<pop.failed>"}).FinallyOp()},
	} {
		_, err := (&AgendaValidator{}).ValidateCreate(context.Background(), tc.ag.Obj())
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one containing %q", name, err, tc.want)
		}
	}
}

// TestValidateCreateRetryPolicy: a retry policy is checked with its field path.
func TestValidateCreateRetryPolicy(t *testing.T) {
	for name, tc := range map[string]struct {
		rp   popv1.RetryPolicy
		want string
	}{
		"valid":         {rp: popv1.RetryPolicy{RetryOn: []popv1.RetryClass{"Disrupted"}, NeverRetryExitCodes: []int32{2}}},
		"unknown class": {rp: popv1.RetryPolicy{RetryOn: []popv1.RetryClass{"Sometimes"}}, want: `spec.operations[1].retryPolicy.retryOn[0]: unknown class "Sometimes"`},
		"exit code 0":   {rp: popv1.RetryPolicy{NeverRetryExitCodes: []int32{0}}, want: "spec.operations[1].retryPolicy.neverRetryExitCodes[0]: 0 is not a failing exit code"},
	} {
		ag := builders.MakeAgenda("ag", "acme").Op("a", "echo").Op("b", "echo").Obj()
		rp := tc.rp
		ag.Spec.Operations[1].RetryPolicy = &rp
		_, err := (&AgendaValidator{}).ValidateCreate(context.Background(), ag)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one containing %q", name, err, tc.want)
		}
	}
}
