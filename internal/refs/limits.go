package refs

import (
	"fmt"
)

// MaxDepth is how deep objects and arrays may nest in a payload (and in a reference's JSON
// default). Real payloads nest a few levels; the limit keeps walking a payload's strings
// (and the path of each) bounded, and refuses a deep payload before it is decoded.
const MaxDepth = 100

// ErrTooDeep is returned for JSON nested deeper than MaxDepth.
var ErrTooDeep = fmt.Errorf("nesting deeper than %d levels", MaxDepth)

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
