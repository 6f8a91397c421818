package execution

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/dag"
	"github.com/pop-operator/pop/test/builders"
)

// decideCase is one rule of the planner: what the controller observed, and the whole plan.
type decideCase struct {
	ag          *builders.AgendaWrapper
	handler     popv1.HandlerTypeSpec
	pods        []*corev1.Pod
	unavailable map[string]string
	specErrors  field.ErrorList
	want        Plan
}

// Operation statuses of the chain, as the planner writes them.
var (
	waitingB   = builders.OpStatus("b", popv1.OperationWaiting)
	startedAt  = t0.Add(-time.Minute)
	runningA   = builders.OpStatus("a", popv1.OperationExecuting).Attempt(1, podName("a")).StartedAt(startedAt)
	runningC   = builders.OpStatus("c", popv1.OperationExecuting).Attempt(1, podName("c")).StartedAt(startedAt)
	succeededA = builders.OpStatus("a", popv1.OperationSucceeded).Attempt(1, podName("a")).StartedAt(startedAt).Output(`{"v":1}`).Progress(100).CompletedAt(startedAt)
	succeededC = builders.OpStatus("c", popv1.OperationSucceeded).Attempt(1, podName("c")).StartedAt(startedAt).Output(`"x"`).Progress(100).CompletedAt(startedAt)
)

// partWay is an admitted chain part-way: a and c executing since startedAt, b waiting.
func partWay() *builders.AgendaWrapper {
	return admitted(chainSpec()).Ops(runningA, waitingB, runningC).StartedAt(startedAt).Phase(popv1.PhaseRunning).ObservedGeneration(1).
		Condition(popv1.AgendaRunning, true, popv1.ReasonOperationsExecuting, "2 of 3 operations executing, 0 complete")
}

// settled is what finalize adds to every status: the phase and the generation observed.
func settled(w *builders.AgendaWrapper, phase popv1.AgendaPhase) popv1.AgendaStatus {
	return w.Phase(phase).ObservedGeneration(1).Obj().Status
}

const suspendedMsg = "spec.suspend: no new Pod starts; running ones finish"

func executingMsg(executing, complete string) string {
	return executing + " of 3 operations executing, " + complete + " complete"
}

func TestDecide(t *testing.T) {
	tests := map[string]decideCase{
		"admitted: the roots start, b waits for a": {
			ag: admitted(chainSpec()),
			want: Plan{
				Launch: []Launch{{Index: 0, Attempt: 1, Payload: []byte("1")}, {Index: 2, Attempt: 1, Payload: []byte(`"x"`)}},
				Status: settled(admitted(chainSpec()).StartedAt(t0).Ops(
					builders.OpStatus("a", popv1.OperationExecuting).Attempt(1, podName("a")).StartedAt(t0), waitingB,
					builders.OpStatus("c", popv1.OperationExecuting).Attempt(1, podName("c")).StartedAt(t0)).
					Condition(popv1.AgendaRunning, true, popv1.ReasonOperationsExecuting, executingMsg("2", "0")), popv1.PhaseRunning),
			},
		},
		"a succeeded: its output feeds b": {
			ag:   partWay(),
			pods: []*corev1.Pod{pod(podName("a"), startedAt, corev1.PodSucceeded, `{"v": [1, 2]}`, 0), pod(podName("c"), startedAt, corev1.PodRunning, "", 0)},
			want: Plan{
				Launch: []Launch{{Index: 1, Attempt: 1, Payload: []byte("[1,2]")}},
				Status: settled(partWay().PercentComplete(33).Ops(
					builders.OpStatus("a", popv1.OperationSucceeded).Attempt(1, podName("a")).StartedAt(startedAt).Output(`{"v": [1, 2]}`).Progress(100).CompletedAt(t0),
					builders.OpStatus("b", popv1.OperationExecuting).Attempt(1, podName("b")).StartedAt(t0), runningC).
					Condition(popv1.AgendaRunning, true, popv1.ReasonOperationsExecuting, executingMsg("2", "1")), popv1.PhaseRunning),
			},
		},
		"a failed attempt waits for its retry's backoff": {
			ag:      partWay(),
			handler: popv1.HandlerTypeSpec{Retries: &popv1.RetrySpec{Limit: 1, Backoff: &popv1.BackoffSpec{Initial: &metav1.Duration{Duration: 4 * time.Second}}}},
			pods:    []*corev1.Pod{pod(podName("a"), startedAt, corev1.PodFailed, "boom", 2), pod(podName("c"), startedAt, corev1.PodRunning, "", 0)},
			want: Plan{
				RequeueAfter: 4 * time.Second,
				Status: settled(partWay().Ops(
					builders.OpStatus("a", popv1.OperationWaiting).Attempt(1, podName("a")).StartedAt(startedAt).Failures(1).NextAttemptAt(t0.Add(4*time.Second)).
						Message("attempt 1 failed: handler exited with code 2: boom; retry 1 of 1 at 2026-11-27T12:00:04Z"), waitingB, runningC).
					Condition(popv1.AgendaRunning, true, popv1.ReasonOperationsExecuting, executingMsg("1", "0")), popv1.PhaseRunning),
			},
		},
		"the last attempt failed: FailFast skips what has not started": {
			ag:   partWay(),
			pods: []*corev1.Pod{pod(podName("a"), startedAt, corev1.PodFailed, "", 1), pod(podName("c"), startedAt, corev1.PodRunning, "", 0)},
			want: Plan{Status: settled(partWay().Ops(
				builders.OpStatus("a", popv1.OperationFailed).Attempt(1, podName("a")).StartedAt(startedAt).Failures(1).CompletedAt(t0).Message("handler exited with code 1"),
				builders.OpStatus("b", popv1.OperationSkipped).CompletedAt(t0).Message("skipped: an operation it needs, or under FailFast any operation, failed"),
				runningC).
				Condition(popv1.AgendaRunning, true, popv1.ReasonOperationsExecuting, executingMsg("1", "0")), popv1.PhaseRunning)},
		},
		"ContinueIndependent: only the failed operation's dependents are skipped": {
			ag: partWay().FailurePolicy(popv1.ContinueIndependent).Ops(runningA, waitingB,
				builders.OpStatus("c", popv1.OperationWaiting).Attempt(1, podName("c")).Failures(1).NextAttemptAt(t0.Add(time.Minute))),
			pods: []*corev1.Pod{pod(podName("a"), startedAt, corev1.PodFailed, "", 1)},
			want: Plan{RequeueAfter: time.Minute, Status: settled(partWay().FailurePolicy(popv1.ContinueIndependent).Ops(
				builders.OpStatus("a", popv1.OperationFailed).Attempt(1, podName("a")).StartedAt(startedAt).Failures(1).CompletedAt(t0).Message("handler exited with code 1"),
				builders.OpStatus("b", popv1.OperationSkipped).CompletedAt(t0).Message("skipped: an operation it needs, or under FailFast any operation, failed"),
				builders.OpStatus("c", popv1.OperationWaiting).Attempt(1, podName("c")).Failures(1).NextAttemptAt(t0.Add(time.Minute))).
				Condition(popv1.AgendaRunning, false, popv1.ReasonOperationsWaiting, "no operation executing: waiting for a retry's backoff"), popv1.PhaseRunning)},
		},
		"timeouts: a Pod running too long and one stuck Pending are deleted": {
			ag:      partWay(),
			handler: popv1.HandlerTypeSpec{Timeout: &metav1.Duration{Duration: 30 * time.Second}, PendingTimeout: &metav1.Duration{Duration: time.Minute}},
			pods:    []*corev1.Pod{pod(podName("a"), t0.Add(-40*time.Second), corev1.PodRunning, "", 0), imagePullFailing(podName("c"), t0.Add(-2*time.Minute))},
			want: Plan{
				Delete: []string{podName("a"), podName("c")},
				Status: settled(partWay().CompletedAt(t0).Ops(
					builders.OpStatus("a", popv1.OperationFailed).Attempt(1, podName("a")).StartedAt(startedAt).Failures(1).CompletedAt(t0).Message("timed out after 30s"),
					builders.OpStatus("b", popv1.OperationSkipped).CompletedAt(t0).Message("skipped: an operation it needs, or under FailFast any operation, failed"),
					builders.OpStatus("c", popv1.OperationFailed).Attempt(1, podName("c")).StartedAt(startedAt).Failures(1).CompletedAt(t0).
						Message("Pod stayed Pending for 2m0s: ErrImagePull: not found")).
					Condition(popv1.AgendaFailed, true, popv1.ReasonOperationFailed, "operation a failed: timed out after 30s").
					Condition(popv1.AgendaRunning, false, popv1.ReasonFinished, "the Agenda finished"), popv1.PhaseFailed),
			},
		},
		"a Pod created before a crash is adopted, not started again": {
			ag:   admitted(chainSpec()),
			pods: []*corev1.Pod{labelled(pod(podName("a"), t0.Add(-10*time.Second), corev1.PodRunning, "", 0), "a", "1")},
			want: Plan{
				Launch: []Launch{{Index: 2, Attempt: 1, Payload: []byte(`"x"`)}},
				Status: settled(admitted(chainSpec()).StartedAt(t0.Add(-10*time.Second)).Ops(
					builders.OpStatus("a", popv1.OperationExecuting).Attempt(1, podName("a")).StartedAt(t0.Add(-10*time.Second)), waitingB,
					builders.OpStatus("c", popv1.OperationExecuting).Attempt(1, podName("c")).StartedAt(t0)).
					Condition(popv1.AgendaRunning, true, popv1.ReasonOperationsExecuting, executingMsg("2", "0")), popv1.PhaseRunning),
			},
		},
		"every operation succeeded": {
			ag:   partWay().Ops(succeededA, builders.OpStatus("b", popv1.OperationExecuting).Attempt(1, podName("b")).StartedAt(startedAt), succeededC),
			pods: []*corev1.Pod{pod(podName("b"), startedAt, corev1.PodSucceeded, "", 0)},
			want: Plan{Status: settled(partWay().PercentComplete(100).CompletedAt(t0).Ops(succeededA,
				builders.OpStatus("b", popv1.OperationSucceeded).Attempt(1, podName("b")).StartedAt(startedAt).Output("null").Progress(100).CompletedAt(t0), succeededC).
				Condition(popv1.AgendaSucceeded, true, popv1.ReasonAllOperationsSucceed, "all 3 operations succeeded").
				Condition(popv1.AgendaRunning, false, popv1.ReasonFinished, "the Agenda finished"), popv1.PhaseSucceeded)},
		},
		"cancel: every unfinished operation is cancelled and its running Pod deleted": {
			ag:   partWay().Cancel(),
			pods: []*corev1.Pod{pod(podName("a"), startedAt, corev1.PodRunning, "", 0), pod(podName("c"), startedAt, corev1.PodSucceeded, `"x"`, 0)},
			want: Plan{
				Delete: []string{podName("a")},
				Status: settled(stopped(partWay().Cancel().PercentComplete(33), popv1.ReasonCancelled, "cancelled by spec.cancel",
					builders.OpStatus("a", popv1.OperationCancelled).Attempt(1, podName("a")).StartedAt(startedAt),
					builders.OpStatus("b", popv1.OperationCancelled),
					builders.OpStatus("c", popv1.OperationSucceeded).Attempt(1, podName("c")).StartedAt(startedAt).Output(`"x"`).Progress(100).CompletedAt(t0)).
					Condition(popv1.AgendaCancelled, true, popv1.ReasonCancelled, "cancelled by spec.cancel"), popv1.PhaseCancelled),
			},
		},
		"suspended: a finished Pod is recorded, nothing new starts": {
			ag:   partWay().Suspend(true),
			pods: []*corev1.Pod{pod(podName("a"), startedAt, corev1.PodSucceeded, `{"v": 1}`, 0), pod(podName("c"), startedAt, corev1.PodRunning, "", 0)},
			want: Plan{Status: settled(partWay().Suspend(true).PercentComplete(33).Ops(
				builders.OpStatus("a", popv1.OperationSucceeded).Attempt(1, podName("a")).StartedAt(startedAt).Output(`{"v": 1}`).Progress(100).CompletedAt(t0),
				waitingB, runningC).
				Condition(popv1.AgendaRunning, true, popv1.ReasonOperationsExecuting, executingMsg("1", "1")).
				Condition(popv1.AgendaSuspended, true, popv1.ReasonSuspended, suspendedMsg), popv1.PhaseRunning)},
		},
		"suspended before the first Pod: nothing starts, Running False with reason Suspended": {
			ag: admitted(chainSpec()).Suspend(true),
			want: Plan{Status: settled(admitted(chainSpec()).Suspend(true).Ops(
				builders.OpStatus("a", popv1.OperationWaiting), waitingB, builders.OpStatus("c", popv1.OperationWaiting)).
				Condition(popv1.AgendaRunning, false, popv1.ReasonSuspended, "no operation executing: suspended by spec.suspend").
				Condition(popv1.AgendaSuspended, true, popv1.ReasonSuspended, suspendedMsg), popv1.PhaseRunning)},
		},
		"suspended: a retry whose backoff is over waits, and no requeue is asked for": {
			ag: admitted(chainSpec()).Suspend(true).Ops(
				builders.OpStatus("a", popv1.OperationWaiting).Attempt(1, podName("a")).Failures(1).NextAttemptAt(t0.Add(-time.Second)).BlockedSince(startedAt),
				waitingB, builders.OpStatus("c", popv1.OperationWaiting).Attempt(1, podName("c")).Failures(1).NextAttemptAt(t0.Add(time.Minute))),
			want: Plan{Status: settled(admitted(chainSpec()).Suspend(true).Ops(
				builders.OpStatus("a", popv1.OperationWaiting).Attempt(1, podName("a")).Failures(1).NextAttemptAt(t0.Add(-time.Second)),
				waitingB, builders.OpStatus("c", popv1.OperationWaiting).Attempt(1, podName("c")).Failures(1).NextAttemptAt(t0.Add(time.Minute))).
				Condition(popv1.AgendaRunning, false, popv1.ReasonSuspended, "no operation executing: suspended by spec.suspend").
				Condition(popv1.AgendaSuspended, true, popv1.ReasonSuspended, suspendedMsg), popv1.PhaseRunning)},
		},
		"resumed: the ready operations start, Suspended False with reason Resumed": {
			ag: admitted(chainSpec()).Condition(popv1.AgendaSuspended, true, popv1.ReasonSuspended, suspendedMsg),
			want: Plan{
				Launch: []Launch{{Index: 0, Attempt: 1, Payload: []byte("1")}, {Index: 2, Attempt: 1, Payload: []byte(`"x"`)}},
				Status: settled(admitted(chainSpec()).StartedAt(t0).Ops(
					builders.OpStatus("a", popv1.OperationExecuting).Attempt(1, podName("a")).StartedAt(t0), waitingB,
					builders.OpStatus("c", popv1.OperationExecuting).Attempt(1, podName("c")).StartedAt(t0)).
					Condition(popv1.AgendaRunning, true, popv1.ReasonOperationsExecuting, executingMsg("2", "0")).
					Condition(popv1.AgendaSuspended, false, popv1.ReasonResumed, "spec.suspend lifted: operations start again"), popv1.PhaseRunning),
			},
		},
		"suspended, the last running operation failed: the Agenda ends, Suspended False": {
			ag: partWay().Suspend(true).Condition(popv1.AgendaSuspended, true, popv1.ReasonSuspended, suspendedMsg).
				Ops(runningA, waitingB, succeededC),
			pods: []*corev1.Pod{pod(podName("a"), startedAt, corev1.PodFailed, "", 1)},
			want: Plan{Status: settled(partWay().Suspend(true).PercentComplete(33).CompletedAt(t0).Ops(
				builders.OpStatus("a", popv1.OperationFailed).Attempt(1, podName("a")).StartedAt(startedAt).Failures(1).CompletedAt(t0).Message("handler exited with code 1"),
				builders.OpStatus("b", popv1.OperationSkipped).CompletedAt(t0).Message("skipped: an operation it needs, or under FailFast any operation, failed"),
				succeededC).
				Condition(popv1.AgendaFailed, true, popv1.ReasonOperationFailed, "operation a failed: handler exited with code 1").
				Condition(popv1.AgendaRunning, false, popv1.ReasonFinished, "the Agenda finished").
				Condition(popv1.AgendaSuspended, false, popv1.ReasonFinished, "the Agenda finished"), popv1.PhaseFailed)},
		},
		"the Agenda's timeout ran out: it stops, Failed": {
			ag:   partWay().Timeout(30 * time.Second),
			pods: []*corev1.Pod{pod(podName("a"), startedAt, corev1.PodRunning, "", 0), pod(podName("c"), startedAt, corev1.PodRunning, "", 0)},
			want: Plan{
				Delete: []string{podName("a"), podName("c")},
				Status: settled(stopped(partWay().Timeout(30*time.Second), popv1.ReasonTimeout, "Agenda timed out after 30s",
					builders.OpStatus("a", popv1.OperationCancelled).Attempt(1, podName("a")).StartedAt(startedAt),
					builders.OpStatus("b", popv1.OperationCancelled),
					builders.OpStatus("c", popv1.OperationCancelled).Attempt(1, podName("c")).StartedAt(startedAt)), popv1.PhaseFailed),
			},
		},
		"deleted while running (a finalizer holds it): it stops, Failed": {
			ag:   partWay().Deleting(t0),
			pods: []*corev1.Pod{pod(podName("a"), startedAt, corev1.PodRunning, "", 0), pod(podName("c"), startedAt, corev1.PodRunning, "", 0)},
			want: Plan{
				Delete: []string{podName("a"), podName("c")},
				Status: settled(stopped(partWay().Deleting(t0), popv1.ReasonDeleted, "the Agenda is being deleted",
					builders.OpStatus("a", popv1.OperationCancelled).Attempt(1, podName("a")).StartedAt(startedAt),
					builders.OpStatus("b", popv1.OperationCancelled),
					builders.OpStatus("c", popv1.OperationCancelled).Attempt(1, podName("c")).StartedAt(startedAt)), popv1.PhaseFailed),
			},
		},
		"not admitted: accepted, it waits for the scheduler (Pending)": {
			ag:   chainSpec(),
			want: Plan{Status: settled(chainSpec().Accepted(), popv1.PhasePending)},
		},
		"queued by the scheduler: Queued": {
			ag:   chainSpec().Accepted().Condition(popv1.AgendaQueued, true, popv1.ReasonWaitingForCapacity, "position 1"),
			want: Plan{Status: settled(chainSpec().Accepted().Condition(popv1.AgendaQueued, true, popv1.ReasonWaitingForCapacity, "position 1"), popv1.PhaseQueued)},
		},
		"a HandlerType missing: not accepted, Pending": {
			ag:          chainSpec(),
			unavailable: map[string]string{"h": `HandlerType "h" not found`},
			want: Plan{Status: settled(chainSpec().Condition(popv1.AgendaAccepted, false, popv1.ReasonHandlerTypeMissing, `HandlerType "h" not found`),
				popv1.PhasePending)},
		},
		"an invalid spec: not accepted, Invalid": {
			ag:         chainSpec(),
			specErrors: field.ErrorList{field.Invalid(field.NewPath("spec", "operations").Index(1).Child("dependsOn").Index(0), "b", "cycle")},
			want: Plan{Status: settled(chainSpec().Condition(popv1.AgendaAccepted, false, popv1.ReasonInvalidSpec,
				`spec.operations[1].dependsOn[0]: Invalid value: "b": cycle`), popv1.PhaseInvalid)},
		},
		"cancelled before admission, invalid or not: every operation Cancelled": {
			ag:         chainSpec().Cancel(),
			specErrors: field.ErrorList{field.Invalid(field.NewPath("spec"), "", "broken")},
			want: Plan{Status: settled(stopped(chainSpec().Cancel(), popv1.ReasonCancelled, "cancelled by spec.cancel before admission",
				builders.OpStatus("a", popv1.OperationCancelled), builders.OpStatus("b", popv1.OperationCancelled), builders.OpStatus("c", popv1.OperationCancelled)).
				Condition(popv1.AgendaCancelled, true, popv1.ReasonCancelled, "cancelled by spec.cancel before admission"), popv1.PhaseCancelled)},
		},
		"deleted before admission: Failed at once": {
			ag: chainSpec().Accepted().Deleting(t0),
			want: Plan{Status: settled(stopped(chainSpec().Accepted().Deleting(t0), popv1.ReasonDeleted, "the Agenda is being deleted",
				builders.OpStatus("a", popv1.OperationCancelled), builders.OpStatus("b", popv1.OperationCancelled), builders.OpStatus("c", popv1.OperationCancelled)),
				popv1.PhaseFailed)},
		},
		"finished: nothing changes": {
			ag:   finishedFailed(),
			want: Plan{Status: finishedFailed().Obj().Status},
		},
		"finished and deleted with a rerun asked for: nothing changes": {
			ag:   finishedFailed().Rerun("r1", popv1.RerunAll).Deleting(t0),
			want: Plan{Status: finishedFailed().Obj().Status},
		},
		"rerun FromFailure: what did not succeed waits again, back to the queue": {
			ag: finishedFailed().Rerun("r1", popv1.RerunFromFailure),
			want: Plan{Status: settled(rerunOf(finishedFailed().Rerun("r1", popv1.RerunFromFailure), `rerun "r1" (FromFailure) requested: back to the queue`).
				PercentComplete(66).Ops(succeededA, builders.OpStatus("b", popv1.OperationWaiting).Attempt(1, ""), succeededC), popv1.PhasePending)},
		},
		"rerun Operations a: a and what depends on it": {
			ag: finishedFailed().Rerun("r1", popv1.RerunOperations, "a"),
			want: Plan{Status: settled(rerunOf(finishedFailed().Rerun("r1", popv1.RerunOperations, "a"), `rerun "r1" (Operations) requested: back to the queue`).
				PercentComplete(33).Ops(builders.OpStatus("a", popv1.OperationWaiting).Attempt(1, ""), builders.OpStatus("b", popv1.OperationWaiting).Attempt(1, ""), succeededC),
				popv1.PhasePending)},
		},
		"rerun All: every operation, attempt numbers kept counting": {
			ag: finishedFailed().Rerun("r1", popv1.RerunAll),
			want: Plan{Status: settled(rerunOf(finishedFailed().Rerun("r1", popv1.RerunAll), `rerun "r1" (All) requested: back to the queue`).
				Ops(builders.OpStatus("a", popv1.OperationWaiting).Attempt(1, ""), builders.OpStatus("b", popv1.OperationWaiting).Attempt(1, ""),
					builders.OpStatus("c", popv1.OperationWaiting).Attempt(1, "")), popv1.PhasePending)},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Decide(tc.observed(t))
			if diff := cmp.Diff(tc.want, got, planCmp...); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

// planCmp compares plans whole. A condition's lastTransitionTime is the wall clock's.
var planCmp = []cmp.Option{
	cmpopts.IgnoreFields(metav1.Condition{}, "LastTransitionTime"),
	cmpopts.SortSlices(func(a, b metav1.Condition) bool { return a.Type < b.Type }),
	cmpopts.EquateEmpty(),
}

func (tc decideCase) observed(t *testing.T) Observed {
	t.Helper()
	ag := tc.ag.Obj()
	obs := Observed{Agenda: ag, SpecErrors: tc.specErrors, Handlers: map[string]*popv1.HandlerTypeSpec{"h": &tc.handler},
		Unavailable: tc.unavailable, Pods: map[string]*corev1.Pod{}, Customer: "acme", Now: t0}
	if len(tc.specErrors) == 0 {
		g, errs := dag.Build(&ag.Spec)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		obs.Graph = g
	}
	for _, p := range tc.pods {
		obs.Pods[p.Name] = p
	}
	return obs
}

// stopped is w ended by a stop (cancel, timeout, deletion) at t0, its operations as given.
func stopped(w *builders.AgendaWrapper, reason, message string, ops ...*builders.OpStatusWrapper) *builders.AgendaWrapper {
	for _, o := range ops {
		if o.State == popv1.OperationCancelled {
			o.Message(message)
			if w.Obj().Status.AdmissionTime != nil {
				o.CompletedAt(t0) // the planner's stop; an Agenda never admitted ran nothing
			}
		}
	}
	return w.Ops(ops...).CompletedAt(t0).
		Condition(popv1.AgendaFailed, true, reason, message).
		Condition(popv1.AgendaRunning, false, reason, message)
}

// finishedFailed is the chain after b failed: a and c succeeded.
func finishedFailed() *builders.AgendaWrapper {
	return admitted(chainSpec()).StartedAt(startedAt).CompletedAt(t0.Add(-time.Second)).PercentComplete(66).Phase(popv1.PhaseFailed).ObservedGeneration(1).
		Ops(succeededA, builders.OpStatus("b", popv1.OperationFailed).Attempt(1, podName("b")).StartedAt(startedAt).Failures(1).
			CompletedAt(t0.Add(-time.Second)).Message("handler exited with code 1"), succeededC).
		Condition(popv1.AgendaFailed, true, popv1.ReasonOperationFailed, "operation b failed: handler exited with code 1").
		Condition(popv1.AgendaRunning, false, popv1.ReasonFinished, "the Agenda finished")
}

// rerunOf is w sent back to its queue by its rerun: no end, no times, Admitted=False.
func rerunOf(w *builders.AgendaWrapper, message string) *builders.AgendaWrapper {
	w.Status.Conditions = nil
	w.Status.AdmissionTime, w.Status.StartTime, w.Status.CompletionTime = nil, nil, nil
	return w.Accepted().Condition(popv1.AgendaAdmitted, false, popv1.ReasonRerunRequested, message).
		ObservedRerun(w.Spec.Rerun.ID).PercentComplete(0)
}

func imagePullFailing(name string, created time.Time) *corev1.Pod {
	p := pod(name, created, corev1.PodPending, "", 0)
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "handler", State: corev1.ContainerState{
		Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "not found"}}}}
	return p
}

func labelled(p *corev1.Pod, op, attempt string) *corev1.Pod {
	p.Labels = map[string]string{popv1.OperationLabel: op, popv1.AttemptLabel: attempt}
	return p
}
