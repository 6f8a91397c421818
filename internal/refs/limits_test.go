package refs

import (
	"runtime"
	"strings"
	"testing"
)

// allocated returns the bytes f allocates on the heap, averaged over runs calls.
func allocated(runs int, f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

// nested returns a payload of depth levels of arrays around one string.
func nested(depth int, s string) []byte {
	return []byte(strings.Repeat("[", depth) + `"` + s + `"` + strings.Repeat("]", depth))
}

// nestedObjects returns depth levels of {"k": ...} around one string.
func nestedObjects(depth int, s string) []byte {
	return []byte(strings.Repeat(`{"k":`, depth) + `"` + s + `"` + strings.Repeat("}", depth))
}

// blobLookup serves agenda.params as {"s": <n bytes of text>}, decoded once.
func blobLookup(n int) Lookup {
	params := map[string]any{"s": strings.Repeat("a", n)}
	return func(source string) (any, bool) { return params, source == AgendaParams }
}

func TestResolveBudget(t *testing.T) {
	const kib = 1 << 10
	cases := map[string]struct {
		payload string
		blob    int
		wantErr bool
	}{
		// The resolved payload is the blob's JSON string: blob + 2 quotes.
		"exactly at the budget":   {payload: `"@<agenda.params::/s>"`, blob: 131059 - 2},
		"one byte over":           {payload: `"@<agenda.params::/s>"`, blob: 131059 - 1, wantErr: true},
		"100 KiB × 200, whole":    {payload: repeatRefs(200, `"@<agenda.params::/s>"`), blob: 100 * kib, wantErr: true},
		"100 KiB × 200, in text":  {payload: `"` + strings.Repeat("x @<agenda.params::/s> ", 200) + `"`, blob: 100 * kib, wantErr: true},
		"object × 200, whole ref": {payload: repeatRefs(200, `"@<agenda.params>"`), blob: 100 * kib, wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			lookup := blobLookup(tc.blob)
			var out []byte
			var err error
			bytes := allocated(1, func() { out, err = Resolve([]byte(tc.payload), lookup) })
			t.Logf("%d bytes out, %d bytes allocated, error %v", len(out), bytes, err != nil)
			if !tc.wantErr {
				if err != nil || len(out) != 131059 {
					t.Fatalf("Resolve: %d bytes, %v; want 131059 bytes", len(out), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "exceeds the budget of 131059 bytes") {
				t.Fatalf("Resolve: %d bytes out, error %v; want the budget error", len(out), err)
			}
			// Refused before the amplification: a few copies of the blob, not 200.
			if bytes > 1<<20 {
				t.Errorf("Resolve allocated %d bytes before refusing; want under 1 MiB", bytes)
			}
		})
	}
}

func repeatRefs(n int, ref string) string {
	return "[" + strings.Repeat(ref+",", n-1) + ref + "]"
}

func TestNestingLimit(t *testing.T) {
	cases := map[string]struct {
		payload []byte
		wantErr bool
	}{
		"arrays at the limit":          {payload: nested(100, "@<a.out>")},
		"arrays over the limit":        {payload: nested(101, "@<a.out>"), wantErr: true},
		"objects at the limit":         {payload: nestedObjects(100, "@<a.out>")},
		"objects over the limit":       {payload: nestedObjects(101, "@<a.out>"), wantErr: true},
		"brackets inside strings":      {payload: nested(1, strings.Repeat(`[{\"`, 200))},
		"6,000 deep (12 KB)":           {payload: nested(6000, ""), wantErr: true},
		"deep JSON default in a ref":   {payload: nested(1, "@<a.out?"+strings.Repeat("[", 101)+strings.Repeat("]", 101)+">"), wantErr: true},
		"default at the nesting limit": {payload: nested(1, "@<a.out?"+strings.Repeat("[", 100)+strings.Repeat("]", 100)+">")},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var err error
			bytes := allocated(1, func() { _, err = Find(tc.payload) })
			t.Logf("%d bytes in, %d bytes allocated, error %v", len(tc.payload), bytes, err != nil)
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("Find: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "nesting deeper than 100 levels") {
				t.Fatalf("Find error = %v, want nesting deeper than 100 levels", err)
			}
			if bytes > 64<<10 {
				t.Errorf("Find allocated %d bytes to refuse %d bytes of payload; want under 64 KiB", bytes, len(tc.payload))
			}
			if _, err := Resolve(tc.payload, blobLookup(1)); err == nil || !strings.Contains(err.Error(), "nesting deeper than 100 levels") {
				t.Errorf("Resolve error = %v, want nesting deeper than 100 levels", err)
			}
		})
	}
}

// TestWalkMemoryIsLinear: walking a payload costs about what decoding it costs, at any
// depth, instead of a copy of the path at every level.
func TestWalkMemoryIsLinear(t *testing.T) {
	for _, payload := range [][]byte{nested(100, "x"), nestedObjects(100, "x")} {
		decode := allocated(50, func() { _, _ = Decode(payload) })
		find := allocated(50, func() { _, _ = Find(payload) })
		resolve := allocated(50, func() { _, _ = Resolve(payload, blobLookup(1)) })
		t.Logf("%.8s…: Decode %d B, Find %d B, Resolve %d B", payload, decode, find, resolve)
		// Beyond decoding, the walk may spend 80 B per level (one path, grown by doubling);
		// a copy of the path at each level spent 1.7 KB per level here. Resolve also encodes
		// its result: one more payload's worth.
		const slack = 100 * 80
		if find > decode+slack || resolve > 2*decode+slack {
			t.Errorf("%.20s…: Decode %d B, Find %d B, Resolve %d B; want Find ≈ Decode, Resolve ≈ 2 × Decode",
				payload, decode, find, resolve)
		}
	}
}

// TestEncodedAtLeast: the budget's estimate never exceeds the real encoding, so it refuses
// nothing that fits; the exact check is the length of the result.
func TestEncodedAtLeast(t *testing.T) {
	for _, raw := range []string{`null`, `true`, `false`, `0`, `-1.5e10`, `""`, `"a\"b\u00e9"`, `[]`, `{}`,
		`[1,[2,[]],{"a":null}]`, `{"k":{"l":[true,"x"]},"m":""}`} {
		v, err := Decode([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		out, _ := Marshal(v)
		if n := encodedAtLeast(v, MaxResolvedBytes); n > len(out) {
			t.Errorf("encodedAtLeast(%s) = %d, more than its encoding's %d bytes", raw, n, len(out))
		}
	}
	for _, v := range []any{float64(5), 7, map[string]any{"n": float64(1)}} { // from a Lookup not using Decode
		out, _ := Marshal(v)
		if n := encodedAtLeast(v, MaxResolvedBytes); n > len(out) {
			t.Errorf("encodedAtLeast(%v) = %d, more than its encoding's %d bytes", v, n, len(out))
		}
	}
}
