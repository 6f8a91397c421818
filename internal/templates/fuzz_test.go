package templates

import (
	"encoding/json"
	"strings"
	"testing"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// FuzzBind: no argument a client sends panics the webhook; what Bind accepts is of its
// parameter's type.
func FuzzBind(f *testing.F) {
	deep := strings.Repeat(`{"a":[`, 3000) + strings.Repeat(`]}`, 3000) // issue 11 item 7
	for _, s := range []string{`"x"`, `12`, `1.5`, `[1,2]`, `{"a":null}`, `true`, `nul`, `1e400`, deep, strings.Repeat("[", 200) + strings.Repeat("]", 200)} {
		f.Add(s, TypeInteger)
		f.Add(s, TypeString)
	}
	f.Fuzz(func(t *testing.T, arg, typ string) {
		if !knownType(typ) {
			return
		}
		params := []Parameter{{Name: "p", Type: typ}}
		out, err := Bind(params, map[string]json.RawMessage{"p": json.RawMessage(arg)}, "spec.arguments")
		if err != nil {
			return
		}
		if err := checkType(typ, out["p"]); err != nil {
			t.Fatalf("Bind accepted %q for type %q: %v", arg, typ, err)
		}
	})
}

// FuzzResolve: no spec.arguments or spec.params body panics the controller or the webhook;
// what Resolve accepts gives params that are a JSON object holding every required argument.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{`{"source":"a"}`, `{"source":"a","bitrate":2}`, `[]`, `null`, `{"source":1}`, `{`, `{"source":"a","x":1}`} {
		f.Add(s, `{"k":1}`)
		f.Add(s, ``)
	}
	f.Fuzz(func(t *testing.T, args, params string) {
		ag := &popv1.AgendaSpec{Template: "encode", Arguments: js(args)}
		if params != "" {
			ag.Params = js(params)
		}
		out, err := Resolve(encodeTemplate(), ag)
		if err != nil {
			return
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(out.Params.Raw, &obj); err != nil {
			t.Fatalf("params %s: %v", out.Params.Raw, err)
		}
		if _, ok := obj["source"]; !ok {
			t.Fatalf("params %s lack the required source", out.Params.Raw)
		}
	})
}
