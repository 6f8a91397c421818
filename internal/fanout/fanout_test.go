package fanout

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pop-operator/pop/internal/refs"
)

func TestItems(t *testing.T) {
	for _, tc := range []struct {
		json, wantErr string
		want          int
	}{
		{json: `["a","b","c"]`, want: 3},
		{json: `[]`, want: 0},
		{json: `{"a":1}`, wantErr: "must be a JSON array, got an object"},
		{json: `"a,b"`, wantErr: "got a string"},
		{json: `null`, wantErr: "got null"},
		{json: `7`, wantErr: "got a number"},
		{json: "[" + strings.Repeat("1,", MaxItems) + "1]", wantErr: "has 10001 items; at most 10000"},
	} {
		v, err := refs.Decode([]byte(tc.json))
		if err != nil {
			t.Fatal(err)
		}
		items, err := Items(v)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("Items(%.20s) = %v, want an error containing %q", tc.json, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || len(items) != tc.want):
			t.Errorf("Items(%.20s) = %d items, %v; want %d", tc.json, len(items), err, tc.want)
		}
	}
}

func TestNameAndSplit(t *testing.T) {
	for _, i := range []int{0, 7, 999} {
		g, n, ok := Split(Name("encode", i))
		if !ok || g != "encode" || n != i {
			t.Errorf("Split(Name(encode, %d)) = %q, %d, %v", i, g, n, ok)
		}
	}
	if g, n, ok := Split("a[1][2]"); !ok || g != "a[1]" || n != 2 {
		t.Errorf("Split(a[1][2]) = %q, %d, %v; want a[1], 2", g, n, ok)
	}
	for _, name := range []string{"encode", "encode[]", "encode[x]", "encode[03]", "encode[-1]", "[3]", "encode[3"} {
		if _, _, ok := Split(name); ok {
			t.Errorf("Split(%q) took it for a generated name", name)
		}
	}
}

// TestLookupResolvesItemAndIndex: a generated operation's payload reads its item, a pointer
// into it, its index, and the sources of any operation.
func TestLookupResolvesItemAndIndex(t *testing.T) {
	item, _ := refs.Decode([]byte(`{"segment":"s3.ts","bitrate":800}`))
	base := func(source string) (any, bool) {
		if source == "scan.out" {
			return "scanned", true
		}
		return nil, false
	}
	got, err := refs.Resolve([]byte(`{"in":"@<item::/segment>","kbps":"@<item::/bitrate>","n":"@<pop.index>","whole":"@<item>","from":"@<scan.out>","label":"part-@<pop.index>"}`),
		Lookup(item, 3, base))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"from":"scanned","in":"s3.ts","kbps":800,"label":"part-3","n":3,"whole":{"bitrate":800,"segment":"s3.ts"}}`
	if string(got) != want {
		t.Errorf("resolved\n got %s\nwant %s", got, want)
	}
}

func TestJoin(t *testing.T) {
	got := Join([]json.RawMessage{json.RawMessage(`{"a":1}`), nil, json.RawMessage(`"x"`)})
	if string(got) != `[{"a":1},null,"x"]` {
		t.Errorf("Join = %s", got)
	}
	if !json.Valid(got) {
		t.Error("not JSON")
	}
	if string(Join(nil)) != `[]` {
		t.Errorf("Join(nil) = %s", Join(nil))
	}
}
