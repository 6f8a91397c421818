package fanout

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		json, wantErr, wantRef string
		literal                int
	}{
		{json: `["a","b"]`, literal: 2},
		{json: `[]`, literal: 0},
		{json: `"@<scan.out::/segments>"`, wantRef: "scan.out"},
		{json: `"@<agenda.params::/files>"`, wantRef: "agenda.params"},
		{json: `"@<scan.out?>"`, wantRef: "scan.out"},
		{json: `"segments: @<scan.out::/segments>"`, wantErr: "must be a JSON array or a whole reference"},
		{json: `"a,b"`, wantErr: "must be a JSON array or a whole reference"},
		{json: `"@<pop.agendaId>"`, wantErr: "a forEach reads an operation's output"},
		{json: `"@<item>"`, wantErr: "a forEach reads an operation's output"},
		{json: `"@<scan.out"`, wantErr: "unterminated reference"},
		{json: `{"a":1}`, wantErr: "got an object"},
		{json: `3`, wantErr: "got a number"},
		{json: "[" + strings.Repeat("1,", MaxItems) + "1]", wantErr: "has 10001 items; at most 10000"},
	} {
		f, err := Parse([]byte(tc.json))
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Parse(%.30s) = %v, want an error containing %q", tc.json, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("Parse(%.30s): %v", tc.json, err)
		case tc.wantRef != "" && (f.Ref == nil || f.Ref.Source != tc.wantRef):
			t.Errorf("Parse(%s) = %+v, want a reference to %s", tc.json, f, tc.wantRef)
		case tc.wantRef == "" && (f.Ref != nil || len(f.Literal) != tc.literal):
			t.Errorf("Parse(%s) = %+v, want %d literal items", tc.json, f, tc.literal)
		}
	}
}

func TestForEachResolve(t *testing.T) {
	f, err := Parse([]byte(`"@<scan.out::/segments>"`))
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(out any) func(string) (any, bool) {
		return func(source string) (any, bool) { return out, source == "scan.out" }
	}
	items, err := f.Resolve(lookup(map[string]any{"segments": []any{"a", "b", "c"}}))
	if err != nil || len(items) != 3 {
		t.Fatalf("Resolve = %v, %v; want 3 items", items, err)
	}
	if _, err := f.Resolve(lookup(map[string]any{"segments": "abc"})); err == nil || !strings.Contains(err.Error(), "got a string") {
		t.Errorf("a string resolved: %v, want an error saying so", err)
	}
	if _, err := f.Resolve(lookup(map[string]any{})); err == nil || !strings.Contains(err.Error(), "/segments not found") {
		t.Errorf("a missing pointer: %v, want an error saying so", err)
	}
	long := make([]any, MaxItems+1)
	if _, err := f.Resolve(lookup(map[string]any{"segments": long})); err == nil || !strings.Contains(err.Error(), "at most 10000") {
		t.Errorf("10001 items: %v, want the bound", err)
	}
	lit, _ := Parse([]byte(`[1,{"a":2}]`))
	items, err = lit.Resolve(nil)
	if b, _ := json.Marshal(items); err != nil || string(b) != `[1,{"a":2}]` {
		t.Errorf("a literal resolves to %s, %v", b, err)
	}
}
