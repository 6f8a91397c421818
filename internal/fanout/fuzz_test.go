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
