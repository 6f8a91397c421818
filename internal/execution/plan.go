// Package execution decides, from an Agenda and what the controller observed of it (its
// validated graph, its HandlerTypes, its Pods), what one reconcile does: which attempts
// start, which Pods are deleted, and the one status it writes. It does no I/O; the Agenda
// controller reads the world, carries the plan out and writes the status.
package execution

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/dag"
)

// Observed is the world as the controller saw it.
type Observed struct {
	Agenda *popv1.Agenda
	// Graph is the Agenda's validated dependency graph; nil when SpecErrors is not empty.
	Graph *dag.Graph
	// SpecErrors is what validation found wrong with the spec, with field paths.
	SpecErrors field.ErrorList
	// Handlers maps an operation type to its HandlerType spec.
	Handlers map[string]*popv1.HandlerTypeSpec
	// Unavailable maps an operation type whose HandlerType is missing or not Ready to why.
	// Its operations start no new attempt; running ones are still observed.
	Unavailable map[string]string
	// Pods are the Agenda's Pods by name; only an admitted Agenda's are read.
	Pods     map[string]*corev1.Pod
	Customer string
	Now      time.Time
	// DefaultParallelism is the admitting Insight's spec.defaultParallelism: the bound on
	// live Pods of an Agenda without spec.parallelism; nil for none.
	DefaultParallelism *int32
	// LaunchWait bounds how long a ready operation may be kept from starting (see
	// blockedSince); DefaultLaunchWait when zero.
	LaunchWait time.Duration
}

// Launch is an attempt to start: the operation and its resolved payload.
type Launch struct {
	// Index is the operation's place in Plan.Status.Operations: a spec operation's index,
	// or, past them, a generated one's (OperationOf says what it runs).
	Index   int
	Attempt int32
	Payload []byte
	// LastProgress is what the operation's previous attempt last wrote in
	// pop.report.progress, when that was a POP progress object; empty otherwise. Handlers
	// written for the original POP receive it as LAST_PROGRESS, to resume.
	LastProgress string
}

// Plan is what the controller must do.
type Plan struct {
	// Status is the Agenda's whole new status, written once after the Pods were handled.
	Status popv1.AgendaStatus
	Launch []Launch
	// Delete are Pods to delete now (timeouts, stuck Pending, cancel).
	Delete []string
	// RequeueAfter is when to look again without an event; 0 for never.
	RequeueAfter time.Duration
}

// Decide computes what one reconcile does. Steps:
//  1. a finished Agenda stays as it is, unless a rerun is asked for (and it is not being
//     deleted);
//  2. one being deleted (a finalizer holds it) ends: stopped by the planner when it runs,
//     at once otherwise;
//  3. one cancelled before admission ends, valid or not;
//  4. an invalid spec is recorded in Accepted, and nothing else happens;
//  5. otherwise Accepted records whether every HandlerType is usable, and a finished
//     Agenda is rerun, one not admitted waits for the scheduler, an admitted one runs;
//  6. the phase is derived from the conditions (setPhase) and observedGeneration set.
func Decide(obs Observed) Plan {
	plan := decide(obs)
	finalize(&plan.Status, obs.Agenda)
	return plan
}

func decide(obs Observed) Plan {
	ag := obs.Agenda
	deleting, finished, admitted := ag.DeletionTimestamp != nil, popv1.IsFinished(ag), popv1.IsAdmitted(ag)
	switch {
	case finished && (deleting || !popv1.RerunPending(ag)):
		return Plan{Status: *ag.Status.DeepCopy()}
	case deleting && (!admitted || len(obs.SpecErrors) > 0):
		return Plan{Status: endWithoutRunning(ag, popv1.ReasonDeleted, "the Agenda is being deleted", obs.Now)}
	case ag.Spec.Cancel && !admitted && !finished:
		return Plan{Status: endWithoutRunning(ag, popv1.ReasonCancelled, "cancelled by spec.cancel before admission", obs.Now)}
	case len(obs.SpecErrors) > 0:
		return Plan{Status: invalid(ag, obs.SpecErrors)}
	case finished:
		return Plan{Status: rerun(obs)}
	case !admitted:
		return Plan{Status: waiting(obs)}
	}
	return run(obs)
}

// finalize completes every status the planner returns.
func finalize(st *popv1.AgendaStatus, ag *popv1.Agenda) {
	setPhase(st)
	st.ObservedGeneration = ag.Generation
}
