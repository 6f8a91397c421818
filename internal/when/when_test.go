package when

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pop-operator/pop/internal/refs"
)

func TestCompileRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, expr, want string
	}{
		{"not boolean", `ops.scan.output.count + 1`, "must be a boolean expression"},
		{"string result", `"yes"`, "must be a boolean expression"},
		{"syntax", `ops.scan.output.count >`, "Syntax error"},
		{"unknown variable", `segments.size() > 0`, "undeclared reference"},
		{"ops by a computed name", `ops["sc" + "an"].phase == "Succeeded"`, "constant name"},
		{"ops as a whole", `ops.size() > 2`, "constant name"},
		{"ops in a macro", `ops.exists(k, k == "scan")`, "constant name"},
		{"too long", strings.Repeat("true && ", 200) + "true", "longer than 1024 bytes"},
		{"too deep", strings.Repeat("(", 40) + "true" + strings.Repeat(")", 40), "recursion"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.expr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Compile(%q) = %v, want an error containing %q", tc.expr, err, tc.want)
			}
		})
	}
}

func TestOperations(t *testing.T) {
	c, err := Compile(`ops.scan.phase == "Succeeded" && ops["probe-2"].output.ok && has(ops.scan.output.segments) && params.mode == "full"`)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"probe-2", "scan"}, c.Operations()); diff != "" {
		t.Errorf("operations (-want +got):\n%s", diff)
	}
}

func TestEval(t *testing.T) {
	in := Input{
		Ops: map[string]Outcome{
			"scan":  {Phase: "Succeeded", Output: map[string]any{"count": 3.0, "segments": []any{"a", "b", "c"}, "codec": "h264"}},
			"probe": {Phase: "Failed"},
		},
		Params: map[string]any{"mode": "full", "minCount": 2.0},
		Item:   map[string]any{"lang": "fr"},
		Index:  4,
	}
	for _, tc := range []struct {
		expr    string
		want    bool
		wantErr string
	}{
		{expr: `ops.scan.phase == "Succeeded"`, want: true},
		{expr: `ops.probe.phase == "Succeeded"`, want: false},
		{expr: `ops.scan.output.count > 2`, want: true},                    // a JSON number (double) against an int
		{expr: `ops.scan.output.count == 3`, want: true},                   // heterogeneous equality
		{expr: `ops.scan.output.count >= params.minCount`, want: true},     // double against double
		{expr: `ops.scan.output.segments.size() == 3`, want: true},         // a list
		{expr: `ops.scan.output.segments.exists(s, s == "b")`, want: true}, // a macro over output
		{expr: `ops.scan.output.codec.startsWith("h26")`, want: true},      // string functions
		{expr: `has(ops.scan.output.audio)`, want: false},                  // presence, no error
		{expr: `ops.probe.output == null`, want: true},                     // no output
		{expr: `item.lang == "fr" && index == 4`, want: true},              // fan-out item and index
		{expr: `params.mode != "quick"`, want: true},                       // the Agenda's params
		{expr: `ops.scan.output.audio == "x"`, wantErr: "no such key"},     // missing key: an error, not false
		{expr: `ops.scan.output.codec > 2`, wantErr: "no such overload"},   // mismatched types
		{expr: `ops.scan.output.codec`, wantErr: "not a boolean"},          // dyn that is not a bool
		{expr: `ops.other.phase == "Succeeded"`, wantErr: "no such key"},   // an operation not supplied
	} {
		t.Run(tc.expr, func(t *testing.T) {
			c, err := Compile(tc.expr)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			got, err := c.Eval(in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Eval = %v, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Eval = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// TestEvalExactNumbers: outputs decoded by refs.Decode keep numbers as json.Number; they
// compare as numbers, not as text.
func TestEvalExactNumbers(t *testing.T) {
	out, err := refs.Decode([]byte(`{"count": 12, "ratio": 0.5, "ids": [7, 8]}`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compile(`ops.scan.output.count > 9 && ops.scan.output.ratio < 1 && 8 in ops.scan.output.ids && index == 0`)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Eval(Input{Ops: map[string]Outcome{"scan": {Phase: "Succeeded", Output: out}}}); err != nil || !got {
		t.Fatalf("Eval = %v, %v; want true", got, err)
	}
}

// TestCostLimit: a tenant's expression that would run long stops at the limit.
func TestCostLimit(t *testing.T) {
	c, err := Compile(`ops.scan.output.list.all(a, ops.scan.output.list.all(b, ops.scan.output.list.all(c, a + b + c >= 0)))`)
	if err != nil {
		t.Fatal(err)
	}
	list := make([]any, 200)
	for i := range list {
		list[i] = float64(i)
	}
	_, err = c.Eval(Input{Ops: map[string]Outcome{"scan": {Phase: "Succeeded", Output: map[string]any{"list": list}}}})
	if err == nil || !strings.Contains(err.Error(), "cost limit") {
		t.Fatalf("Eval over 200³ elements = %v, want the cost limit", err)
	}
}
