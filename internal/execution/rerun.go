package execution

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/dag"
)

// rerun resets a finished Agenda's operations as spec.rerun asks — all, the named ones and
// their dependents, or those that did not succeed — and sends the Agenda back to its queue
// (Admitted=False), with its acceptance re-judged. Attempt numbers keep counting so that new
// Pods never reuse old names.
func rerun(obs Observed) popv1.AgendaStatus {
	ag, g := obs.Agenda, obs.Graph
	st := *ag.Status.DeepCopy()
	setAccepted(&st, ag.Generation, obs.Unavailable)
	st.Operations = alignOperations(ag)
	reset := map[int]bool{}
	for _, i := range rerunTargets(ag.Spec.Rerun, st.Operations[:len(ag.Spec.Operations)], g) {
		reset[i] = true
	}
	for k := range st.Operations {
		o := &st.Operations[k]
		i, ok := specOf(ag, k, o.Name)
		// A group's items are reset with it (kept as they are only for FromFailure: its
		// succeeded items stay), so that their attempts keep counting and no Pod name repeats.
		keep := k >= len(ag.Spec.Operations) && rerunMode(ag.Spec.Rerun) == popv1.RerunFromFailure && o.State == popv1.OperationSucceeded
		if ok && reset[i] && !keep {
			// A group keeps its items count: the items it keeps (FromFailure's succeeded ones)
			// may be archived, and the count is what lists them (archive.Expand).
			*o = popv1.OperationStatus{Name: o.Name, State: popv1.OperationWaiting, Attempts: o.Attempts, Items: o.Items}
		}
	}
	st.ObservedRerunID = ag.Spec.Rerun.ID
	for _, c := range []string{popv1.AgendaSucceeded, popv1.AgendaFailed, popv1.AgendaCancelled, popv1.AgendaRunning} {
		meta.RemoveStatusCondition(&st.Conditions, c)
	}
	msg := fmt.Sprintf("rerun %q (%s) requested: back to the queue", ag.Spec.Rerun.ID, rerunMode(ag.Spec.Rerun))
	setCondition(&st, ag.Generation, popv1.AgendaAdmitted, false, popv1.ReasonRerunRequested, msg)
	st.AdmissionTime, st.CompletionTime, st.StartTime = nil, nil, nil
	st.PercentComplete = percentComplete(st.Operations)
	return st
}

func rerunMode(r *popv1.RerunSpec) popv1.RerunMode {
	if r.Mode == "" {
		return popv1.RerunFromFailure
	}
	return r.Mode
}

func rerunTargets(r *popv1.RerunSpec, ops []popv1.OperationStatus, g *dag.Graph) []int {
	var roots []int
	switch rerunMode(r) {
	case popv1.RerunAll:
		for i := range ops {
			roots = append(roots, i)
		}
	case popv1.RerunOperations:
		for _, name := range r.Operations {
			if i, ok := g.Index(name); ok {
				roots = append(roots, i)
			}
		}
	default: // FromFailure
		for i, o := range ops {
			if o.State != popv1.OperationSucceeded {
				roots = append(roots, i)
			}
		}
	}
	return g.Descendants(roots...)
}

// TTLExpiry returns when a finished Agenda with ttlSecondsAfterFinished must be deleted.
func TTLExpiry(ag *popv1.Agenda) (time.Time, bool) {
	if ag.Spec.TTLSecondsAfterFinished == nil || ag.Status.CompletionTime == nil || !popv1.IsFinished(ag) {
		return time.Time{}, false
	}
	return ag.Status.CompletionTime.Add(time.Duration(*ag.Spec.TTLSecondsAfterFinished) * time.Second), true
}
