package refs

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	cases := map[string]struct {
		in      string
		want    []Ref
		whole   bool
		wantErr string
	}{
		"no reference":       {in: "plain text"},
		"an @ alone is text": {in: "mail me @ home <3"},
		"whole output": {
			in:    "@<probe.out>",
			want:  []Ref{{Text: "@<probe.out>", Source: "probe.out", Start: 0, End: 12}},
			whole: true,
		},
		"pointer": {
			in:    "@<probe.out::/streams/0>",
			want:  []Ref{{Text: "@<probe.out::/streams/0>", Source: "probe.out", Pointer: "/streams/0", End: 24}},
			whole: true,
		},
		"optional, null default": {
			in:    "@<a.out::/x?>",
			want:  []Ref{{Text: "@<a.out::/x?>", Source: "a.out", Pointer: "/x", Optional: true, End: 13}},
			whole: true,
		},
		"optional with a text default": {
			in:    "@<a.out::/lang?en>",
			want:  []Ref{{Text: "@<a.out::/lang?en>", Source: "a.out", Pointer: "/lang", Optional: true, Default: "en", End: 18}},
			whole: true,
		},
		"optional with a JSON default": {
			in:    "@<a.out::/n?5>",
			want:  []Ref{{Text: "@<a.out::/n?5>", Source: "a.out", Pointer: "/n", Optional: true, Default: json.Number("5"), End: 14}},
			whole: true,
		},
		"token": {
			in:    "@<pop.agendaId>",
			want:  []Ref{{Text: "@<pop.agendaId>", Source: "pop.agendaId", End: 15}},
			whole: true,
		},
		"agenda params": {
			in:    "@<agenda.params::/asset>",
			want:  []Ref{{Text: "@<agenda.params::/asset>", Source: "agenda.params", Pointer: "/asset", End: 24}},
			whole: true,
		},
		"two inside text": {
			in: "id=@<pop.agendaId> op=@<pop.operationName>!",
			want: []Ref{
				{Text: "@<pop.agendaId>", Source: "pop.agendaId", Start: 3, End: 18},
				{Text: "@<pop.operationName>", Source: "pop.operationName", Start: 22, End: 42},
			},
		},
		"a reference with surrounding space is not whole": {
			in:   " @<a.out>",
			want: []Ref{{Text: "@<a.out>", Source: "a.out", Start: 1, End: 9}},
		},
		"empty pointer means the whole value": {
			in:    "@<a.out::>",
			want:  []Ref{{Text: "@<a.out::>", Source: "a.out", End: 10}},
			whole: true,
		},
		"unterminated":      {in: "x @<a.out", wantErr: `unterminated reference at offset 2: missing ">"`},
		"empty source":      {in: "@<>", wantErr: "@<>: empty source"},
		"invalid source":    {in: "@<a b.out>", wantErr: `@<a b.out>: invalid source "a b.out"`},
		"pointer without /": {in: "@<a.out::x>", wantErr: `@<a.out::x>: invalid JSON pointer "x"`},
		"empty source, ptr": {in: "@<::/x>", wantErr: "empty source"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, whole, err := Parse(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Parse(%q) refs (-want +got):\n%s", tc.in, diff)
			}
			if whole != tc.whole {
				t.Errorf("Parse(%q) whole = %v, want %v", tc.in, whole, tc.whole)
			}
		})
	}
}

func TestRefKinds(t *testing.T) {
	r := Ref{Source: "probe.out"}
	if op, ok := r.Operation(); !ok || op != "probe" {
		t.Errorf("Operation() = %q, %v", op, ok)
	}
	if _, ok := (Ref{Source: ".out"}).Operation(); ok {
		t.Error(".out alone names no operation")
	}
	if !(Ref{Source: TokenAttempt}).IsToken() || (Ref{Source: "pop.other"}).IsToken() {
		t.Error("IsToken wrong")
	}
}

func testLookup(t *testing.T) Lookup {
	sources := map[string]string{
		"probe.out":     `{"duration": 596.5, "streams": [{"codec": "h264"}, {"codec": "aac"}], "live": false, "nothing": null, "big": 12345678901234567890}`,
		"agenda.params": `{"asset": "s3://media/x.mp4", "tier": "gold"}`,
		"pop.agendaId":  `"ag-1"`,
		"pop.attempt":   `2`,
	}
	return func(source string) (any, bool) {
		raw, ok := sources[source]
		if !ok {
			return nil, false
		}
		v, err := Decode([]byte(raw))
		if err != nil {
			t.Fatalf("bad fixture %s: %v", source, err)
		}
		return v, true
	}
}

func TestResolve(t *testing.T) {
	cases := map[string]struct {
		payload string
		want    string
		wantErr string
	}{
		"no references":                    {payload: `{"a": [1, "x", null]}`, want: `{"a":[1,"x",null]}`},
		"whole object":                     {payload: `{"p": "@<probe.out::/streams/0>"}`, want: `{"p":{"codec":"h264"}}`},
		"whole array":                      {payload: `["@<probe.out::/streams>"]`, want: `[[{"codec":"h264"},{"codec":"aac"}]]`},
		"whole number keeps its type":      {payload: `{"d": "@<probe.out::/duration>"}`, want: `{"d":596.5}`},
		"big numbers stay exact":           {payload: `"@<probe.out::/big>"`, want: `12345678901234567890`},
		"whole bool":                       {payload: `"@<probe.out::/live>"`, want: `false`},
		"whole null":                       {payload: `"@<probe.out::/nothing>"`, want: `null`},
		"whole source":                     {payload: `"@<agenda.params>"`, want: `{"asset":"s3://media/x.mp4","tier":"gold"}`},
		"string inside text":               {payload: `"codec: @<probe.out::/streams/1/codec>."`, want: `"codec: aac."`},
		"number and bool inside text":      {payload: `"@<probe.out::/duration>s live=@<probe.out::/live>"`, want: `"596.5s live=false"`},
		"null inside text is empty":        {payload: `"[@<probe.out::/nothing>]"`, want: `"[]"`},
		"tokens":                           {payload: `{"id": "@<pop.agendaId>", "n": "@<pop.attempt>", "s": "try @<pop.attempt>"}`, want: `{"id":"ag-1","n":2,"s":"try 2"}`},
		"optional missing gives null":      {payload: `"@<probe.out::/streams/5?>"`, want: `null`},
		"optional default text":            {payload: `{"lang": "@<probe.out::/language?en>"}`, want: `{"lang":"en"}`},
		"optional default JSON":            {payload: `"@<probe.out::/fps?25>"`, want: `25`},
		"optional default inside text":     {payload: `"lang=@<probe.out::/language?en>"`, want: `"lang=en"`},
		"optional present ignores default": {payload: `"@<probe.out::/duration?1>"`, want: `596.5`},
		"optional missing source":          {payload: `"@<other.out?>"`, want: `null`},
		"keys are not resolved":            {payload: `{"@<probe.out>": 1}`, want: `{"@<probe.out>":1}`},
		"pointer escapes":                  {payload: `"@<agenda.params::/asset>"`, want: `"s3://media/x.mp4"`},
		"empty payload":                    {payload: ``, want: ``},
		"missing pointer fails": {payload: `{"x": {"y": ["@<probe.out::/width>"]}}`,
			wantErr: `$.x.y[0]: @<probe.out::/width>: /width not found in probe.out (add ? to make it optional)`},
		"missing source fails": {payload: `"@<thumb.out>"`,
			wantErr: `$: @<thumb.out>: thumb.out has no value`},
		"object inside text fails": {payload: `{"s": "all: @<probe.out::/streams/0>"}`,
			wantErr: `$.s: @<probe.out::/streams/0>: is an object`},
		"array inside text fails": {payload: `"all: @<probe.out::/streams>"`, wantErr: "is an array"},
		"malformed fails":         {payload: `{"s": "@<probe.out"}`, wantErr: `$.s: unterminated reference`},
		"not JSON":                {payload: `{`, wantErr: "payload is not JSON"},
	}
	lookup := testLookup(t)
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Resolve([]byte(tc.payload), lookup)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Resolve(%s) error = %v, want %q", tc.payload, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%s): %v", tc.payload, err)
			}
			if string(got) != tc.want {
				t.Errorf("Resolve(%s) = %s, want %s", tc.payload, got, tc.want)
			}
		})
	}
}

func TestFind(t *testing.T) {
	found, err := Find([]byte(`{"b": ["x @<a.out> @<pop.agendaId>"], "a": {"k": "@<c.out::/z?>"}}`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range found {
		got = append(got, JSONPath(f.Path)+" "+f.Ref.Source)
	}
	want := []string{"$.a.k c.out", "$.b[0] a.out", "$.b[0] pop.agendaId"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Find (-want +got):\n%s", diff)
	}
	_, err = Find([]byte(`{"q": [1, "@<"]}`))
	if err == nil || err.Error() != `$.q[1]: unterminated reference at offset 0: missing ">"` {
		t.Errorf("Find malformed error = %v", err)
	}
}

// TestResolveLeavesSourcesAlone: a value is substituted as it is (a reference inside it is
// not resolved again) and stays unchanged for the next call that shares it.
func TestResolveLeavesSourcesAlone(t *testing.T) {
	params := map[string]any{"s": "@<pop.agendaId>", "list": []any{"@<pop.agendaId>"}}
	lookup := func(source string) (any, bool) {
		if source == TokenAgendaID {
			return "ag", true
		}
		return params, source == AgendaParams
	}
	for range 2 {
		got, err := Resolve([]byte(`["@<agenda.params>", "@<agenda.params::/list>"]`), lookup)
		if err != nil {
			t.Fatal(err)
		}
		want := `[{"list":["@<pop.agendaId>"],"s":"@<pop.agendaId>"},["@<pop.agendaId>"]]`
		if string(got) != want {
			t.Fatalf("Resolve = %s, want %s", got, want)
		}
	}
}
