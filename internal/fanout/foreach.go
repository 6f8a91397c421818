package fanout

import (
	"fmt"

	"github.com/pop-operator/pop/internal/refs"
)

// ForEach is an operation's parsed forEach: a literal array, or one whole reference whose
// value, once resolved, must be an array.
type ForEach struct {
	// Literal holds the items of a literal array; nil for a reference.
	Literal []any
	// Ref is the reference when the forEach is one; nil for a literal.
	Ref *refs.Ref
}

// Parse reads a forEach as stored in the spec (JSON text): an array of at most MaxItems
// items, or a string that is exactly one reference to an operation's output or to
// agenda.params.
func Parse(raw []byte) (ForEach, error) {
	v, err := refs.Decode(raw)
	if err != nil {
		return ForEach{}, fmt.Errorf("not JSON: %v", err)
	}
	switch t := v.(type) {
	case []any:
		items, err := Items(t)
		return ForEach{Literal: items}, err
	case string:
		found, whole, err := refs.Parse(t)
		if err != nil {
			return ForEach{}, err
		}
		if !whole {
			return ForEach{}, fmt.Errorf("must be a JSON array or a whole reference such as @<scan.out::/segments>")
		}
		r := found[0]
		if _, ok := r.Operation(); !ok && r.Source != refs.AgendaParams {
			return ForEach{}, fmt.Errorf("%s: a forEach reads an operation's output (@<op.out::/ptr>) or @<agenda.params::/ptr>", r.Text)
		}
		return ForEach{Ref: &r}, nil
	}
	return ForEach{}, fmt.Errorf("must be a JSON array or a whole reference such as @<scan.out::/segments>, got %s", kind(v))
}

// Resolve returns the items of f, reading a reference through lookup.
func (f ForEach) Resolve(lookup refs.Lookup) ([]any, error) {
	if f.Ref == nil {
		return f.Literal, nil
	}
	v, err := refs.Value(*f.Ref, lookup)
	if err != nil {
		return nil, err
	}
	return Items(v)
}
