package refs

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics and that what it returns is consistent with
// its input: offsets in range, Text equal to the slice it came from, whole only for one
// reference spanning the input.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "@<a.out>", "@<a.out::/x/0?>", "x @<pop.agendaId> y @<b.out::/~1k?{\"d\":1}>",
		"@<", "@<>", "@<::>", "@<a.out::x>", "@<@<a.out>>", "@<a.out?>?>",
		// Deep JSON defaults: at the nesting limit, over it, and far over it.
		"@<a.out?" + deep(MaxDepth) + ">", "@<a.out?" + deep(MaxDepth+1) + ">", "x @<a.out?" + deep(6000) + ">",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		refs, whole, err := Parse(s)
		if err != nil {
			return
		}
		prevEnd := 0
		for _, r := range refs {
			if r.Start < prevEnd || r.End > len(s) || r.Start >= r.End {
				t.Fatalf("bad offsets %d..%d in %q", r.Start, r.End, s)
			}
			if s[r.Start:r.End] != r.Text {
				t.Fatalf("Text %q differs from input slice %q", r.Text, s[r.Start:r.End])
			}
			if r.Source == "" {
				t.Fatalf("empty source accepted in %q", s)
			}
			prevEnd = r.End
		}
		if whole != (len(refs) == 1 && refs[0].Text == s) {
			t.Fatalf("whole = %v for %q with %d refs", whole, s, len(refs))
		}
		if len(refs) == 0 && strings.Contains(s, "@<") {
			t.Fatalf("no reference found in %q", s)
		}
	})
}

// FuzzResolve checks that Resolve never panics, always returns valid JSON on success, and
// is the identity on payloads without references.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{
		`{"a": "@<probe.out::/streams/0>"}`, `["x @<pop.agendaId> y"]`, `"@<probe.out::/nope?7>"`,
		`{"k": [1, 2.5, true, null, "@<agenda.params>"]}`, `"@<probe.out::/streams>"`, `{}`,
		// Deep nesting: at the limit, over it, 6,000 levels, brackets inside strings.
		deep(MaxDepth), deep(MaxDepth + 1), deep(6000), strings.Repeat(`{"k":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1),
		`["` + strings.Repeat(`[{\"`, 200) + `"]`, `"@<probe.out?` + deep(MaxDepth+1) + `>"`,
	} {
		f.Add([]byte(s))
	}
	sources := map[string]any{}
	for k, raw := range map[string]string{
		"probe.out":     `{"streams": [{"codec": "h264"}], "n": 1.5, "s": "x", "z": null}`,
		"agenda.params": `{"asset": "a"}`,
		"pop.agendaId":  `"ag"`,
	} {
		v, _ := Decode([]byte(raw))
		sources[k] = v
	}
	lookup := func(s string) (any, bool) { v, ok := sources[s]; return v, ok }
	f.Fuzz(func(t *testing.T, payload []byte) {
		out, err := Resolve(payload, lookup)
		if err != nil {
			return
		}
		if len(strings.TrimSpace(string(payload))) == 0 {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("Resolve(%q) returned invalid JSON %q", payload, out)
		}
		if CheckDepth(payload) != nil || len(out) > MaxResolvedBytes {
			t.Fatalf("Resolve(%.80q) accepted a payload over a limit: %d bytes out", payload, len(out))
		}
		if found, err := Find(payload); err == nil && len(found) == 0 {
			var a, b any
			_ = json.Unmarshal(payload, &a)
			_ = json.Unmarshal(out, &b)
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if string(ja) != string(jb) {
				t.Fatalf("payload without references changed: %s -> %s", ja, jb)
			}
		}
	})
}

// deep is n levels of arrays around 1.
func deep(n int) string { return strings.Repeat("[", n) + "1" + strings.Repeat("]", n) }
