package refs

import (
	"encoding/json"
	"fmt"
)

// MaxDepth is how deep objects and arrays may nest in a payload (and in a reference's JSON
// default). Real payloads nest a few levels; the limit keeps walking a payload's strings
// (and the path of each) bounded, and refuses a deep payload before it is decoded.
const MaxDepth = 100

// MaxResolvedBytes is the most a resolved payload may hold. A handler receives its payload
// in the environment variable POP_PAYLOAD, and Linux refuses to start a program with an
// environment string over 128 KiB, counting the name, "=" and the final NUL: a larger payload
// could never reach its handler. Measured: `env -i POP_PAYLOAD=<n bytes> /bin/true` starts
// for n = 131059 and fails with "Argument list too long" for n = 131060.
const MaxResolvedBytes = 128<<10 - len("POP_PAYLOAD=") - 1

// ErrTooDeep is returned for JSON nested deeper than MaxDepth.
var ErrTooDeep = fmt.Errorf("nesting deeper than %d levels", MaxDepth)

// ErrBudget is returned for a payload whose resolution would exceed MaxResolvedBytes.
var ErrBudget = fmt.Errorf("the resolved payload exceeds the budget of %d bytes, the most a handler "+
	"can receive in its environment; pass large data by reference (an object store URL)", MaxResolvedBytes)

// CheckDepth returns ErrTooDeep when the JSON text raw nests objects and arrays deeper than
// MaxDepth. It scans the bytes without decoding them, so refusing a deep payload costs no
// memory: encoding/json would first build every level (its own limit is 10,000) and has no
// option for a lower one. Invalid JSON is left for the decoder to report.
func CheckDepth(raw []byte) error {
	depth, inString, escaped := 0, false, false
	for _, c := range raw {
		switch {
		case escaped:
			escaped = false
		case inString:
			escaped, inString = c == '\\', c != '"'
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			if depth++; depth > MaxDepth {
				return ErrTooDeep
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return nil
}

// decodePayload decodes a payload after checking its depth, which bounds every later walk.
func decodePayload(raw []byte) (any, error) {
	if err := CheckDepth(raw); err != nil {
		return nil, err
	}
	doc, err := Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("payload is not JSON: %w", err)
	}
	return doc, nil
}

// budget counts what references substitute into one payload, so that resolution stops as
// soon as the result must exceed MaxResolvedBytes, before it is built.
type budget struct{ left int }

// spend charges a lower bound of n bytes; the final length check in Resolve is exact.
func (b *budget) spend(n int) error {
	if b.left -= n; b.left < 0 {
		return ErrBudget
	}
	return nil
}

// encodedAtLeast returns a lower bound of v's JSON length (escapes not counted), walking
// no further than limit: a value shared by many references is measured, never copied.
func encodedAtLeast(v any, limit int) int {
	switch t := v.(type) {
	case string:
		return len(t) + 2
	case json.Number:
		return len(t)
	case map[string]any:
		n := 1 + len(t)
		for k, e := range t {
			if n > limit {
				break
			}
			n += len(k) + 3 + encodedAtLeast(e, limit-n)
		}
		return n
	case []any:
		n := 1 + len(t)
		for _, e := range t {
			if n > limit {
				break
			}
			n += encodedAtLeast(e, limit-n)
		}
		return n
	case nil, bool:
		return 4 // null, true; false is 5
	default: // numbers from a Lookup that does not decode with Decode
		return 1
	}
}
