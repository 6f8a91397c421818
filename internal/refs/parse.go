// Package refs implements POP's reference language: @<source>, @<source::/json/pointer>,
// with ? for null-when-missing and ?default for a default value. It is pure: no client, no
// cluster; docs/references.md is its user documentation.
package refs

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/go-openapi/jsonpointer"
)

const (
	open         = "@<"
	closeMark    = ">"
	pointerSep   = "::"
	optionalMark = "?"
	// OutputSuffix turns an operation name into its output source: probe.out.
	OutputSuffix = ".out"
	// AgendaParams is the source for the Agenda's spec.params.
	AgendaParams = "agenda.params"
)

// Built-in token sources.
const (
	TokenAgendaID      = "pop.agendaId"
	TokenOperationName = "pop.operationName"
	TokenNamespace     = "pop.namespace"
	TokenCustomerID    = "pop.customerId"
	TokenAttempt       = "pop.attempt"
)

var tokens = map[string]bool{
	TokenAgendaID: true, TokenOperationName: true, TokenNamespace: true,
	TokenCustomerID: true, TokenAttempt: true,
}

// sourcePattern is what may stand between @< and :: (or ?, or >).
var sourcePattern = regexp.MustCompile(`^[A-Za-z0-9][-A-Za-z0-9_.]*$`)

// Ref is one parsed reference.
type Ref struct {
	// Text is the reference as written, @< to >.
	Text string
	// Source is what the reference reads: "probe.out", "agenda.params", "pop.agendaId".
	Source string
	// Pointer is the RFC 6901 pointer into the source ("" = the whole value).
	Pointer string
	// Optional is true when a ? follows: a missing value gives Default (null when none).
	Optional bool
	// Default is the value for a missing, optional reference.
	Default any
	// Start and End are Text's byte offsets in the string it was found in.
	Start, End int
}

// Operation returns the operation whose output the reference reads, if it reads one.
func (r Ref) Operation() (string, bool) {
	if name, ok := strings.CutSuffix(r.Source, OutputSuffix); ok && name != "" {
		return name, true
	}
	return "", false
}

// IsToken reports whether the reference reads a built-in pop.* token.
func (r Ref) IsToken() bool { return tokens[r.Source] }

// Parse finds every reference in s. whole is true when s is exactly one reference, which
// then stands for the referenced JSON value itself rather than for text.
func Parse(s string) (refs []Ref, whole bool, err error) {
	rest, offset := s, 0
	for {
		i := strings.Index(rest, open)
		if i < 0 {
			break
		}
		j := strings.Index(rest[i:], closeMark)
		if j < 0 {
			return nil, false, fmt.Errorf("unterminated reference at offset %d: missing %q", offset+i, closeMark)
		}
		text := rest[i : i+j+1]
		ref, err := parseOne(text)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", text, err)
		}
		ref.Start, ref.End = offset+i, offset+i+j+1
		refs = append(refs, ref)
		rest, offset = rest[i+j+1:], offset+i+j+1
	}
	whole = len(refs) == 1 && refs[0].Start == 0 && refs[0].End == len(s)
	return refs, whole, nil
}

// parseOne parses "@<source[::pointer][?[default]]>".
func parseOne(text string) (Ref, error) {
	ref := Ref{Text: text}
	body := text[len(open) : len(text)-len(closeMark)]
	if q := strings.Index(body, optionalMark); q >= 0 {
		ref.Optional = true
		if def := body[q+1:]; def != "" {
			// A JSON default becomes part of the payload: it obeys the payload's depth limit.
			if err := CheckDepth([]byte(def)); err != nil {
				return ref, fmt.Errorf("default: %w", err)
			}
			ref.Default = parseDefault(def)
		}
		body = body[:q]
	}
	source, pointer, hasPointer := strings.Cut(body, pointerSep)
	if source == "" {
		return ref, fmt.Errorf("empty source")
	}
	if !sourcePattern.MatchString(source) {
		return ref, fmt.Errorf("invalid source %q", source)
	}
	if hasPointer && pointer != "" {
		if _, err := jsonpointer.New(pointer); err != nil {
			return ref, fmt.Errorf("invalid JSON pointer %q: must be empty or start with /", pointer)
		}
	}
	ref.Source, ref.Pointer = source, pointer
	return ref, nil
}

// parseDefault reads a default as JSON when it is valid JSON (?5, ?true, ?"x", ?{}),
// otherwise as a plain string (?en).
func parseDefault(def string) any {
	var v any
	dec := json.NewDecoder(strings.NewReader(def))
	dec.UseNumber()
	if err := dec.Decode(&v); err == nil {
		if _, err := dec.Token(); err == io.EOF {
			return v
		}
	}
	return def
}
