package fanout

import "testing"

// FuzzSplit: Split never panics, and whatever it accepts Name makes back exactly.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{"encode[3]", "a[1][2]", "x[", "[0]", "e[007]", "e[99999999999999999999]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		g, i, ok := Split(name)
		if ok && Name(g, i) != name {
			t.Fatalf("Split(%q) = %q, %d but Name gives %q", name, g, i, Name(g, i))
		}
	})
}

// FuzzParse: Parse never panics, and what it accepts is a literal within the bound or one
// reference.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`[1,2]`, `"@<scan.out::/segments>"`, `"@<agenda.params::/x>"`, `"x @<a.out>"`,
		`"@<a.out?[]>"`, `{}`, `null`, `"@<"`, `[[[[]]]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fe, err := Parse(raw)
		if err == nil && (fe.Ref == nil) == (fe.Literal == nil) {
			t.Fatalf("Parse(%q) accepted both or neither a literal and a reference", raw)
		}
		if err == nil && len(fe.Literal) > MaxItems {
			t.Fatalf("Parse(%q) accepted %d items", raw, len(fe.Literal))
		}
	})
}
