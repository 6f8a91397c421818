package execution

import (
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// setAccepted records in the Accepted condition whether every HandlerType the Agenda names
// is usable (unavailable maps those that are not to why).
func setAccepted(st *popv1.AgendaStatus, gen int64, unavailable map[string]string) {
	if len(unavailable) == 0 {
		setCondition(st, gen, popv1.AgendaAccepted, true, popv1.ReasonValid, "spec is valid and every HandlerType exists")
		return
	}
	types := make([]string, 0, len(unavailable))
	for typ := range unavailable {
		types = append(types, typ)
	}
	sort.Strings(types)
	problems := make([]string, 0, len(types))
	for _, typ := range types {
		problems = append(problems, unavailable[typ])
	}
	setCondition(st, gen, popv1.AgendaAccepted, false, popv1.ReasonHandlerTypeMissing, strings.Join(problems, "; "))
}

// invalid records what validation found wrong with the spec. Nothing else changes: an
// invalid Agenda is neither queued nor run until its spec is fixed.
func invalid(ag *popv1.Agenda, errs field.ErrorList) popv1.AgendaStatus {
	st := *ag.Status.DeepCopy()
	setCondition(&st, ag.Generation, popv1.AgendaAccepted, false, popv1.ReasonInvalidSpec, errs.ToAggregate().Error())
	return st
}

// waiting is the status of an Agenda the scheduler has not admitted: only its verdict.
func waiting(obs Observed) popv1.AgendaStatus {
	st := *obs.Agenda.Status.DeepCopy()
	setAccepted(&st, obs.Agenda.Generation, obs.Unavailable)
	return st
}
