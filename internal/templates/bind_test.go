package templates

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func raw(s string) json.RawMessage { return json.RawMessage(s) }

var encodeParams = []Parameter{
	{Name: "source", Type: TypeString, Required: true},
	{Name: "bitrates", Type: TypeArray, Default: raw(`[800, 1600]`)},
	{Name: "segments", Type: TypeInteger},
	{Name: "extra"},
}

func TestBind(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    map[string]json.RawMessage
		want    string // the params object as JSON
		wantErr string
	}{
		{name: "defaults fill what is left out", args: map[string]json.RawMessage{"source": raw(`"s3://in/a.mov"`)},
			want: `{"bitrates":[800,1600],"source":"s3://in/a.mov"}`},
		{name: "given values win, any type for an untyped one", args: map[string]json.RawMessage{
			"source": raw(`"x"`), "bitrates": raw(`[400]`), "segments": raw(`12`), "extra": raw(`{"k":true}`)},
			want: `{"bitrates":[400],"extra":{"k":true},"segments":12,"source":"x"}`},
		{name: "required left out", args: nil, wantErr: "spec.arguments.source: required"},
		{name: "unknown argument", args: map[string]json.RawMessage{"source": raw(`"x"`), "bitrate": raw(`1`)},
			wantErr: "spec.arguments.bitrate: unknown parameter; the template declares source, bitrates, segments, extra"},
		{name: "wrong type", args: map[string]json.RawMessage{"source": raw(`42`)}, wantErr: "spec.arguments.source: must be of type string"},
		{name: "not an integer", args: map[string]json.RawMessage{"source": raw(`"x"`), "segments": raw(`1.5`)},
			wantErr: "spec.arguments.segments: must be of type integer"},
		{name: "not JSON", args: map[string]json.RawMessage{"source": raw(`"x`)}, wantErr: "spec.arguments.source: not JSON"},
		{name: "nested too deep", args: map[string]json.RawMessage{"source": raw(`"x"`), "extra": raw(strings.Repeat("[", 101) + strings.Repeat("]", 101))},
			wantErr: "spec.arguments.extra: nesting deeper than 100 levels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Bind(encodeParams, tc.args, "spec.arguments")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Bind = %v, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(got)
			if diff := cmp.Diff(tc.want, string(b)); diff != "" {
				t.Errorf("params (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckDeclarations(t *testing.T) {
	if err := CheckDeclarations(encodeParams, "spec.parameters"); err != nil {
		t.Fatalf("valid declarations refused: %v", err)
	}
	many := make([]Parameter, MaxParameters+1)
	for i := range many {
		many[i] = Parameter{Name: string(rune('a'+i%26)) + strings.Repeat("x", i)}
	}
	for _, tc := range []struct {
		name    string
		params  []Parameter
		wantErr string
	}{
		{"unnamed", []Parameter{{Type: TypeString}}, "spec.parameters[0].name: required"},
		{"twice", []Parameter{{Name: "a"}, {Name: "a"}}, `spec.parameters[1].name: "a" is declared twice`},
		{"unknown type", []Parameter{{Name: "a", Type: "int"}}, `spec.parameters[0].type: unknown type "int"`},
		{"required with default", []Parameter{{Name: "a", Required: true, Default: raw(`1`)}}, "spec.parameters[0].default: a required parameter has no default"},
		{"default of another type", []Parameter{{Name: "a", Type: TypeBoolean, Default: raw(`"yes"`)}}, "spec.parameters[0].default: must be of type boolean"},
		{"too many", many, "65 parameters; at most 64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckDeclarations(tc.params, "spec.parameters")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("CheckDeclarations = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
