package when

import (
	"strings"
	"testing"
)

// FuzzCompileEval: no expression a tenant writes panics the webhook or the manager, and one
// that compiles evaluates to a boolean or an error within the cost limit.
func FuzzCompileEval(f *testing.F) {
	for _, s := range []string{
		`ops.scan.phase == "Succeeded"`, `ops["a"].output.x > 1 || item == null`,
		`ops.scan.output.list.exists(x, x > 2)`, `has(ops.a.output.b) && params.c in ["x", "y"]`,
		`index % 2 == 0`, `size(string(ops.a.output)) < 10`, `[1,2,3].map(x, x * 2).size() == 3`,
		// deep nesting within MaxLength (issue 11 item 7): refused by the parser's recursion
		// limit, never a crash
		strings.Repeat("(", 500) + "true" + strings.Repeat(")", 500),
		strings.Repeat("[", 490) + strings.Repeat("]", 490) + ".size() == 1",
		strings.Repeat("!", 1000) + "true",
		"ops.a" + strings.Repeat(".output", 140) + " == 1",
	} {
		f.Add(s)
	}
	in := Input{
		Ops:    map[string]Outcome{"scan": {Phase: "Succeeded", Output: map[string]any{"list": []any{1.0, 2.0, 3.0}}}, "a": {Phase: "Failed"}},
		Params: map[string]any{"c": "x"},
		Item:   "one",
		Index:  1,
	}
	f.Fuzz(func(t *testing.T, expr string) {
		c, err := Compile(expr)
		if err != nil {
			return
		}
		for _, op := range c.Operations() {
			if !strings.Contains(expr, op) {
				t.Fatalf("operation %q read by %q is not in its text", op, expr)
			}
		}
		_, _ = c.Eval(in)
	})
}
