package templates

import (
	"encoding/json"
	"testing"
)

// FuzzBind: no argument a client sends panics the webhook; what Bind accepts is of its
// parameter's type.
func FuzzBind(f *testing.F) {
	for _, s := range []string{`"x"`, `12`, `1.5`, `[1,2]`, `{"a":null}`, `true`, `nul`, `1e400`} {
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
