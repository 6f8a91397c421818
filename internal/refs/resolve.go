package refs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/go-openapi/jsonpointer"
)

// Lookup returns the decoded JSON value of a source ("probe.out", "agenda.params",
// "pop.agendaId"), and false when the source has no value. Resolve never modifies the values
// it returns, so a caller may decode a source once and serve it to many calls.
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
// failed, e.g. `$.video.codec: @<probe.out::/streams/0/codec>: ...`. A payload nested deeper
// than MaxDepth, or one that would resolve to more than MaxResolvedBytes, is refused.
func Resolve(payload []byte, lookup Lookup) ([]byte, error) {
	if len(bytes.TrimSpace(payload)) == 0 {
		return payload, nil
	}
	doc, err := decodePayload(payload)
	if err != nil {
		return nil, err
	}
	b := &budget{left: MaxResolvedBytes}
	out, err := walk(doc, new([]any), func(path []any, s string) (any, error) {
		v, err := resolveString(s, lookup, b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", JSONPath(path), err)
		}
		return v, nil
	})
	if err != nil {
		return nil, err
	}
	resolved, err := Marshal(out)
	if err == nil && len(resolved) > MaxResolvedBytes {
		return nil, fmt.Errorf("%w (it is %d bytes)", ErrBudget, len(resolved))
	}
	return resolved, err
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

// walk calls fn on every string value of v (object keys are left alone), in key order so that
// errors name the same field every time, and puts what fn returns in the string's place. The
// path is one stack for the whole walk, pushed and popped, so memory stays linear in the
// depth; fn copies it to keep it.
func walk(v any, path *[]any, fn func(path []any, s string) (any, error)) (any, error) {
	switch t := v.(type) {
	case string:
		return fn(*path, t)
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			r, err := walkInto(t[k], k, path, fn)
			if err != nil {
				return nil, err
			}
			t[k] = r
		}
	case []any:
		for i := range t {
			r, err := walkInto(t[i], i, path, fn)
			if err != nil {
				return nil, err
			}
			t[i] = r
		}
	}
	return v, nil
}

// walkInto walks v, the member of its parent found under step (a key or an index).
func walkInto(v, step any, path *[]any, fn func(path []any, s string) (any, error)) (any, error) {
	*path = append(*path, step)
	r, err := walk(v, path, fn)
	*path = (*path)[:len(*path)-1]
	return r, err
}

// resolveString resolves one string: a whole reference becomes the value itself, of any
// JSON type; references inside longer text are replaced by scalar text. What they substitute
// is charged to b.
func resolveString(s string, lookup Lookup, b *budget) (any, error) {
	refs, whole, err := Parse(s)
	if err != nil || len(refs) == 0 {
		return s, err
	}
	if whole {
		v, err := Value(refs[0], lookup)
		if err != nil {
			return nil, err
		}
		return v, b.spend(encodedAtLeast(v, b.left))
	}
	var out strings.Builder
	last := 0
	for _, r := range refs {
		text, err := substitution(r, lookup)
		if err == nil {
			err = b.spend(len(text))
		}
		if err != nil {
			return nil, err
		}
		out.WriteString(s[last:r.Start])
		out.WriteString(text)
		last = r.End
	}
	out.WriteString(s[last:])
	return out.String(), nil
}

// substitution is the text one reference stands for inside a longer string.
func substitution(r Ref, lookup Lookup) (string, error) {
	v, err := Value(r, lookup)
	if err != nil {
		return "", err
	}
	text, err := scalarText(v)
	if err != nil {
		return "", fmt.Errorf("%s: %w", r.Text, err)
	}
	return text, nil
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

// Find returns every reference in payload with the JSON path of the string holding it. A
// payload nested deeper than MaxDepth is refused before it is decoded.
func Find(payload []byte) ([]Found, error) {
	if len(bytes.TrimSpace(payload)) == 0 {
		return nil, nil
	}
	doc, err := decodePayload(payload)
	if err != nil {
		return nil, err
	}
	var found []Found
	_, err = walk(doc, new([]any), func(path []any, s string) (any, error) {
		refs, _, err := Parse(s)
		if err != nil {
			return nil, &PathError{Path: slices.Clone(path), Value: s, Err: err}
		}
		if len(refs) > 0 {
			path = slices.Clone(path) // one copy for this string's references
		}
		for _, r := range refs {
			found = append(found, Found{Path: path, Ref: r})
		}
		return s, nil
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
