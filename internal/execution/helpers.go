package execution

import (
	"encoding/json"
	"strconv"
	"time"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/dag"
	"github.com/pop-operator/pop/internal/refs"
)

// Backoff defaults, used when a HandlerType sets retries without a backoff.
const (
	defaultBackoffInitial = 10 * time.Second
	defaultBackoffFactor  = 2
	defaultBackoffMax     = 5 * time.Minute
)

// retryLimit is the operation's retries, else the HandlerType's.
func retryLimit(op *popv1.Operation, h *popv1.HandlerTypeSpec) int32 {
	if op.Retries != nil {
		return *op.Retries
	}
	if h.Retries != nil {
		return h.Retries.Limit
	}
	return 0
}

// backoff is the wait before the retry that follows the given number of failures:
// initial × factor^(failures-1), capped at max.
func backoff(h *popv1.HandlerTypeSpec, failures int32) time.Duration {
	initial, factor, ceiling := defaultBackoffInitial, int64(defaultBackoffFactor), defaultBackoffMax
	if h.Retries != nil && h.Retries.Backoff != nil {
		b := h.Retries.Backoff
		if b.Initial != nil {
			initial = b.Initial.Duration
		}
		if b.Factor > 0 {
			factor = int64(b.Factor)
		}
		if b.Max != nil {
			ceiling = b.Max.Duration
		}
	}
	d := initial
	for k := int32(1); k < failures && d < ceiling; k++ {
		d *= time.Duration(factor)
	}
	return min(d, ceiling)
}

// sources serves the values references read during one planning pass. Each source is
// decoded at most once, however many references and operations read it, so the cost of
// resolution follows the size of the sources, not how often they are referenced. Sharing the
// decoded values is safe because refs.Resolve never modifies what a Lookup returns.
type sources struct {
	obs     Observed
	ops     []popv1.OperationStatus
	decoded map[string]decoded
}

type decoded struct {
	v  any
	ok bool
}

func newSources(obs Observed, ops []popv1.OperationStatus) *sources {
	return &sources{obs: obs, ops: ops, decoded: map[string]decoded{}}
}

// resolvePayload resolves operation i's payload for the given attempt.
func (src *sources) resolvePayload(i int, attempt int32) ([]byte, error) {
	op := &src.obs.Agenda.Spec.Operations[i]
	if op.Payload == nil {
		return []byte("null"), nil
	}
	return refs.Resolve(op.Payload.Raw, func(source string) (any, bool) {
		return src.lookup(op, attempt, source)
	})
}

// lookup returns a source's value for operation op: tokens computed, params and outputs
// decoded once.
func (src *sources) lookup(op *popv1.Operation, attempt int32, source string) (any, bool) {
	ag := src.obs.Agenda
	switch source {
	case refs.TokenAgendaID:
		return ag.Name, true
	case refs.TokenOperationName:
		return op.Name, true
	case refs.TokenNamespace:
		return ag.Namespace, true
	case refs.TokenCustomerID:
		return src.obs.Customer, true
	case refs.TokenAttempt:
		return json.Number(strconv.Itoa(int(attempt))), true
	case dag.SourcePhase, dag.SourceFailed:
		if !op.Finally { // dag.Build refuses these elsewhere
			return nil, false
		}
		phase, failed := mainOutcome(ag, src.ops)
		if source == dag.SourcePhase {
			return phase, true
		}
		return failed, true
	}
	d, seen := src.decoded[source]
	if !seen {
		d.v, d.ok = src.decode(source)
		src.decoded[source] = d
	}
	return d.v, d.ok
}

// decode decodes the params or an operation's output.
func (src *sources) decode(source string) (any, bool) {
	raw, ok := src.raw(source)
	if !ok {
		return nil, false
	}
	v, err := refs.Decode(raw)
	return v, err == nil
}

// raw is the JSON text of the params or of a succeeded operation's output.
func (src *sources) raw(source string) ([]byte, bool) {
	if source == refs.AgendaParams {
		if p := src.obs.Agenda.Spec.Params; p != nil {
			return p.Raw, true
		}
		return nil, false
	}
	name, ok := refs.Ref{Source: source}.Operation()
	if !ok {
		return nil, false
	}
	j, ok := src.obs.Graph.Index(name)
	if !ok || src.ops[j].State != popv1.OperationSucceeded {
		return nil, false
	}
	if src.obs.Graph.ForEach(j) != nil {
		return joined(src.obs.Agenda, name, src.ops), true
	}
	if src.ops[j].Output == "" {
		return nil, false
	}
	return []byte(src.ops[j].Output), true
}
