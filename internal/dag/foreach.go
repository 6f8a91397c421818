package dag

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/fanout"
	"github.com/pop-operator/pop/internal/refs"
)

// Sources only finally operations' payloads may read: the phase the Agenda ends in as its
// main operations decided it, and the names of the main operations that failed.
const (
	SourcePhase  = "pop.phase"  // @<pop.phase>: "Succeeded" or "Failed"
	SourceFailed = "pop.failed" // @<pop.failed>: ["encode[3]", "encode", …]
)

// ForEach is operation i's parsed forEach; nil when it has none.
func (g *Graph) ForEach(i int) *fanout.ForEach {
	if g.forEach == nil {
		return nil
	}
	return g.forEach[i]
}

// forEachDeps parses operation i's forEach; the operation a reference reads becomes a
// dependency that must succeed (one that must end for an optional reference).
func forEachDeps(op *popv1.Operation, i int, index map[string]int, deps map[int]bool) (*fanout.ForEach, field.ErrorList) {
	if op.ForEach == nil {
		return nil, nil
	}
	path := operationsPath.Index(i).Child("forEach")
	fe, err := fanout.Parse(op.ForEach.Raw)
	if err != nil {
		return nil, field.ErrorList{field.Invalid(path, shown(op.ForEach.Raw), err.Error())}
	}
	if fe.Ref == nil {
		return &fe, nil
	}
	name, ok := fe.Ref.Operation()
	if !ok {
		return &fe, nil // agenda.params
	}
	d, known := index[name]
	switch {
	case !known:
		return nil, field.ErrorList{field.Invalid(path, fe.Ref.Text, fmt.Sprintf("unknown operation %q", name))}
	case d == i:
		return nil, field.ErrorList{field.Invalid(path, fe.Ref.Text, "a forEach cannot read its own operation's output")}
	}
	deps[d] = deps[d] || !fe.Ref.Optional
	return &fe, nil
}

// shown is a forEach as an error shows it: a string as it is, anything else as JSON text cut
// to 64 bytes, so that refusing 1,001 items does not quote them all.
func shown(raw []byte) string {
	if v, err := refs.Decode(raw); err == nil {
		if s, ok := v.(string); ok {
			return s
		}
	}
	const limit = 64
	if len(raw) > limit {
		return string(raw[:limit]) + "..."
	}
	return string(raw)
}

// contextSource judges the sources that exist only in some operations: item and pop.index
// in a forEach operation's payload, pop.phase and pop.failed in a finally one's. ok is false
// for any other source; why is not empty when the operation may not read it.
func contextSource(op *popv1.Operation, source string) (why string, ok bool) {
	switch source {
	case fanout.SourceItem, fanout.SourceIndex:
		if op.ForEach == nil {
			return fmt.Sprintf("@<%s> exists only in the payload of an operation with forEach", source), true
		}
		return "", true
	case SourcePhase, SourceFailed:
		if !op.Finally {
			return fmt.Sprintf("@<%s> exists only in the payload of a finally operation", source), true
		}
		return "", true
	}
	return "", false
}
