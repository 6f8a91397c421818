// Package fanout expands an operation with forEach into one generated operation per item of
// a JSON array, names them, gives each its item, and joins their outputs in order for the
// operations that depend on the group (fan-in). It is pure: no client, no cluster.
package fanout

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/pop-operator/pop/internal/refs"
)

// MaxItems bounds one fan-out: every generated operation has its own status and Pods, so a
// tenant's array may not grow an Agenda without limit.
const MaxItems = 10000

// Sources a generated operation's payload may read besides those of any operation.
const (
	SourceItem  = "item"      // @<item>, @<item::/ptr>
	SourceIndex = "pop.index" // @<pop.index>
)

// Items checks that v, the forEach value (a literal or a resolved reference), is an array
// within the bound, and returns it.
func Items(v any) ([]any, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("forEach must be a JSON array, got %s", kind(v))
	}
	if len(items) > MaxItems {
		return nil, fmt.Errorf("forEach has %d items; at most %d", len(items), MaxItems)
	}
	return items, nil
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64, int, int64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

// Name is the name of the generated operation for item i of group: encode[3].
func Name(group string, i int) string { return group + "[" + strconv.Itoa(i) + "]" }

// Split reverses Name: "encode[3]" is item 3 of group "encode". Names that Name did not
// make ("encode", "encode[x]", "encode[03]") are not generated.
func Split(name string) (group string, i int, ok bool) {
	open := strings.LastIndexByte(name, '[')
	if open <= 0 || !strings.HasSuffix(name, "]") {
		return "", 0, false
	}
	digits := name[open+1 : len(name)-1]
	n, err := strconv.Atoi(digits)
	if err != nil || n < 0 || strconv.Itoa(n) != digits {
		return "", 0, false
	}
	return name[:open], n, true
}

// Lookup serves a generated operation's item and index, and everything else from base.
func Lookup(item any, index int, base refs.Lookup) refs.Lookup {
	return func(source string) (any, bool) {
		switch source {
		case SourceItem:
			return item, true
		case SourceIndex:
			return json.Number(strconv.Itoa(index)), true
		}
		return base(source)
	}
}

// Join is the group's output as its dependents read it: the array of the items' outputs in
// item order, null for an item without output (one skipped, say).
func Join(outputs []json.RawMessage) json.RawMessage {
	var b strings.Builder
	b.WriteByte('[')
	for i, o := range outputs {
		if i > 0 {
			b.WriteByte(',')
		}
		if len(o) == 0 {
			b.WriteString("null")
			continue
		}
		b.Write(o)
	}
	b.WriteByte(']')
	return json.RawMessage(b.String())
}
