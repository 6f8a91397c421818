package execution

import (
	"encoding/json"
	"strconv"
	"time"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
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

// resolvePayload resolves operation i's payload for the given attempt.
func resolvePayload(obs Observed, ops []popv1.OperationStatus, i int, attempt int32) ([]byte, error) {
	ag := obs.Agenda
	op := &ag.Spec.Operations[i]
	if op.Payload == nil {
		return []byte("null"), nil
	}
	lookup := func(source string) (any, bool) {
		switch source {
		case refs.AgendaParams:
			if ag.Spec.Params == nil {
				return nil, false
			}
			v, err := refs.Decode(ag.Spec.Params.Raw)
			return v, err == nil
		case refs.TokenAgendaID:
			return ag.Name, true
		case refs.TokenOperationName:
			return op.Name, true
		case refs.TokenNamespace:
			return ag.Namespace, true
		case refs.TokenCustomerID:
			return obs.Customer, true
		case refs.TokenAttempt:
			return json.Number(strconv.Itoa(int(attempt))), true
		}
		return outputOf(obs, ops, source)
	}
	return refs.Resolve(op.Payload.Raw, lookup)
}

func outputOf(obs Observed, ops []popv1.OperationStatus, source string) (any, bool) {
	name, ok := refs.Ref{Source: source}.Operation()
	if !ok {
		return nil, false
	}
	j, ok := obs.Graph.Index(name)
	if !ok || ops[j].State != popv1.OperationSucceeded || ops[j].Output == "" {
		return nil, false
	}
	v, err := refs.Decode([]byte(ops[j].Output))
	return v, err == nil
}

func isFinalOp(s popv1.OperationState) bool {
	switch s {
	case popv1.OperationSucceeded, popv1.OperationFailed, popv1.OperationSkipped, popv1.OperationCancelled:
		return true
	}
	return false
}
