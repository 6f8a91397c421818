package refs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/go-openapi/jsonpointer"
)

// Lookup returns the decoded JSON value of a source ("probe.out", "agenda.params",
// "pop.agendaId"), and false when the source has no value.
type Lookup func(source string) (any, bool)

// Decode parses JSON keeping numbers exact (json.Number), as Resolve expects.
func Decode(raw []byte) (any, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	// More() misses a stray closing bracket; only the end of input will do.
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}

// Resolve replaces every reference in the string values of payload (object keys are left
// alone) and returns the resulting JSON. An error names the JSON path of the string that
// failed, e.g. `$.video.codec: @<probe.out::/streams/0/codec>: ...`.
func Resolve(payload []byte, lookup Lookup) ([]byte, error) {
	if len(bytes.TrimSpace(payload)) == 0 {
		return payload, nil
	}
	doc, err := Decode(payload)
	if err != nil {
		return nil, fmt.Errorf("payload is not JSON: %w", err)
	}
	out, err := resolveValue(doc, "$", lookup)
	if err != nil {
		return nil, err
	}
	return Marshal(out)
}

// Marshal encodes v as compact JSON without HTML escaping, so "@<" stays readable.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func resolveValue(v any, path string, lookup Lookup) (any, error) {
	switch t := v.(type) {
	case string:
		return resolveString(t, path, lookup)
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys) // errors name the same field every time
		for _, k := range keys {
			r, err := resolveValue(t[k], path+"."+k, lookup)
			if err != nil {
				return nil, err
			}
			t[k] = r
		}
		return t, nil
	case []any:
		for i := range t {
			r, err := resolveValue(t[i], path+"["+strconv.Itoa(i)+"]", lookup)
			if err != nil {
				return nil, err
			}
			t[i] = r
		}
		return t, nil
	default:
		return v, nil
	}
}

// resolveString resolves one string: a whole reference becomes the value itself, of any
// JSON type; references inside longer text are replaced by scalar text.
func resolveString(s, path string, lookup Lookup) (any, error) {
	refs, whole, err := Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(refs) == 0 {
		return s, nil
	}
	if whole {
		v, err := Value(refs[0], lookup)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return v, nil
	}
	var b strings.Builder
	last := 0
	for _, r := range refs {
		v, err := Value(r, lookup)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		text, err := scalarText(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, r.Text, err)
		}
		b.WriteString(s[last:r.Start])
		b.WriteString(text)
		last = r.End
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

// Value returns what one reference stands for.
func Value(r Ref, lookup Lookup) (any, error) {
	src, ok := lookup(r.Source)
	if !ok {
		return r.missing(fmt.Sprintf("%s has no value", r.Source))
	}
	if r.Pointer == "" {
		return src, nil
	}
	p, err := jsonpointer.New(r.Pointer)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid JSON pointer %q", r.Text, r.Pointer)
	}
	v, _, err := p.Get(src)
	if err != nil {
		return r.missing(fmt.Sprintf("%s not found in %s", r.Pointer, r.Source))
	}
	return v, nil
}

func (r Ref) missing(why string) (any, error) {
	if r.Optional {
		return r.Default, nil
	}
	return nil, fmt.Errorf("%s: %s (add ? to make it optional)", r.Text, why)
}

// scalarText renders a value for substitution inside a longer string: strings as they are,
// numbers and booleans as JSON text, null as nothing. Objects and arrays are refused: text
// cannot hold them faithfully.
func scalarText(v any) (string, error) {
	switch t := v.(type) {
	case nil:
		return "", nil
	case string:
		return t, nil
	case json.Number:
		return t.String(), nil
	case bool:
		return strconv.FormatBool(t), nil
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64), nil
	case int, int32, int64:
		return fmt.Sprint(t), nil
	case map[string]any:
		return "", fmt.Errorf("is an object; only a whole-string reference can stand for an object")
	case []any:
		return "", fmt.Errorf("is an array; only a whole-string reference can stand for an array")
	default:
		return "", fmt.Errorf("unsupported value of type %T", v)
	}
}

// Find returns every reference in payload with the JSON path of the string holding it.
func Find(payload []byte) ([]Found, error) {
	if len(bytes.TrimSpace(payload)) == 0 {
		return nil, nil
	}
	doc, err := Decode(payload)
	if err != nil {
		return nil, fmt.Errorf("payload is not JSON: %w", err)
	}
	var found []Found
	err = walkStrings(doc, nil, func(path []any, s string) error {
		refs, _, err := Parse(s)
		if err != nil {
			return &PathError{Path: path, Value: s, Err: err}
		}
		for _, r := range refs {
			found = append(found, Found{Path: path, Ref: r})
		}
		return nil
	})
	return found, err
}

// Found is a reference and where it sits: Path holds object keys (string) and array
// indexes (int) from the payload's root.
type Found struct {
	Path []any
	Ref  Ref
}

// PathError is a malformed reference and where it sits.
type PathError struct {
	Path  []any
	Value string
	Err   error
}

func (e *PathError) Error() string { return JSONPath(e.Path) + ": " + e.Err.Error() }

// JSONPath renders a path as $.key[0].other.
func JSONPath(path []any) string {
	var b strings.Builder
	b.WriteString("$")
	for _, p := range path {
		switch t := p.(type) {
		case int:
			b.WriteString("[" + strconv.Itoa(t) + "]")
		default:
			b.WriteString("." + fmt.Sprint(t))
		}
	}
	return b.String()
}

func walkStrings(v any, path []any, fn func([]any, string) error) error {
	switch t := v.(type) {
	case string:
		return fn(path, t)
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := walkStrings(t[k], append(path[:len(path):len(path)], k), fn); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range t {
			if err := walkStrings(e, append(path[:len(path):len(path)], i), fn); err != nil {
				return err
			}
		}
	}
	return nil
}
