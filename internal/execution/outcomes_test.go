package execution

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
)

// outcomeSpec: a; comp runs only if a failed; cleanup is finally.
func outcomeSpec() *builders.AgendaWrapper {
	w := builders.MakeAgenda("ag", "ns").UID("uid-ag").Generation(1).Op("a", "h", 1).Op("comp", "h", "undo").Op("cleanup", "h", "z")
	w.Spec.Operations[1].After = []popv1.Requirement{{Operation: "a", Outcome: popv1.OutcomeFailed}}
	w.Spec.Operations[2].Finally = true
	return w
}

// oneOfThree is the Running message with one of three operations executing.
func oneOfThree(complete string) string {
	return "1 of 3 operations executing, " + complete + " complete"
}

var (
	waitingComp    = builders.OpStatus("comp", popv1.OperationWaiting)
	waitingCleanup = builders.OpStatus("cleanup", popv1.OperationWaiting)
	skippedComp    = builders.OpStatus("comp", popv1.OperationSkipped).CompletedAt(t0).Message("skipped: after requires a to end Failed, it ended Succeeded")
)

func TestDecideOutcomes(t *testing.T) {
	running := func(name string) *builders.OpStatusWrapper {
		return builders.OpStatus(name, popv1.OperationExecuting).Attempt(1, podName(name)).StartedAt(t0)
	}
	done := func(name string, state popv1.OperationState) *builders.OpStatusWrapper {
		o := builders.OpStatus(name, state).Attempt(1, podName(name)).StartedAt(startedAt).CompletedAt(startedAt)
		if state == popv1.OperationSucceeded {
			return o.Output(`1`).Progress(100)
		}
		return o.Failures(1).Message("handler exited with code 1")
	}
	tests := map[string]decideCase{
		"admitted: only a starts; the outcome step and finally wait for it": {
			ag: admitted(outcomeSpec()),
			want: Plan{
				Launch: []Launch{{Index: 0, Attempt: 1, Payload: []byte("1")}},
				Status: settled(admitted(outcomeSpec()).StartedAt(t0).Ops(running("a"), waitingComp, waitingCleanup).
					Condition(popv1.AgendaRunning, true, popv1.ReasonOperationsExecuting, oneOfThree("0")), popv1.PhaseRunning),
			},
		},
		"a succeeded: the after Failed step is skipped, then finally starts": {
			ag: admitted(outcomeSpec()).StartedAt(startedAt).Ops(done("a", popv1.OperationSucceeded), waitingComp, waitingCleanup),
			want: Plan{
				Launch: []Launch{{Index: 2, Attempt: 1, Payload: []byte(`"z"`)}},
				Status: settled(admitted(outcomeSpec()).StartedAt(startedAt).PercentComplete(33).Ops(done("a", popv1.OperationSucceeded), skippedComp, running("cleanup")).
					Condition(popv1.AgendaRunning, true, popv1.ReasonOperationsExecuting, oneOfThree("1")), popv1.PhaseRunning),
			},
		},
		"a failed under FailFast: the compensation runs, not skipped; finally waits for it": {
			ag:   admitted(outcomeSpec()).StartedAt(startedAt).Ops(running("a").StartedAt(startedAt), waitingComp, waitingCleanup),
			pods: []*corev1.Pod{pod(podName("a"), startedAt, corev1.PodFailed, "", 1)},
			want: Plan{
				Launch: []Launch{{Index: 1, Attempt: 1, Payload: []byte(`"undo"`)}},
				Status: settled(admitted(outcomeSpec()).StartedAt(startedAt).Ops(
					builders.OpStatus("a", popv1.OperationFailed).Attempt(1, podName("a")).StartedAt(startedAt).Failures(1).CompletedAt(t0).Message("handler exited with code 1"),
					running("comp"), waitingCleanup).
					Condition(popv1.AgendaRunning, true, popv1.ReasonOperationsExecuting, oneOfThree("0")), popv1.PhaseRunning),
			},
		},
		"everything ended: a main failure fails the Agenda, whatever finally did": {
			ag: admitted(outcomeSpec()).StartedAt(startedAt).Ops(done("a", popv1.OperationFailed), done("comp", popv1.OperationSucceeded),
				running("cleanup").StartedAt(startedAt)),
			pods: []*corev1.Pod{pod(podName("cleanup"), startedAt, corev1.PodSucceeded, `1`, 0)},
			want: Plan{Status: settled(admitted(outcomeSpec()).StartedAt(startedAt).PercentComplete(66).CompletedAt(t0).Ops(done("a", popv1.OperationFailed),
				done("comp", popv1.OperationSucceeded), done("cleanup", popv1.OperationSucceeded).CompletedAt(t0)).
				Condition(popv1.AgendaFailed, true, popv1.ReasonOperationFailed, "operation a failed: handler exited with code 1").
				Condition(popv1.AgendaRunning, false, popv1.ReasonFinished, "the Agenda finished"), popv1.PhaseFailed)},
		},
		"a finally operation failing does not fail the Agenda": {
			ag:   admitted(outcomeSpec()).StartedAt(startedAt).Ops(done("a", popv1.OperationSucceeded), skippedComp, running("cleanup").StartedAt(startedAt)),
			pods: []*corev1.Pod{pod(podName("cleanup"), startedAt, corev1.PodFailed, "", 1)},
			want: Plan{Status: settled(admitted(outcomeSpec()).StartedAt(startedAt).PercentComplete(100).CompletedAt(t0).Ops(done("a", popv1.OperationSucceeded),
				skippedComp, done("cleanup", popv1.OperationFailed).CompletedAt(t0)).
				Condition(popv1.AgendaSucceeded, true, popv1.ReasonAllOperationsSucceed, "1 operations succeeded, 1 skipped").
				Condition(popv1.AgendaRunning, false, popv1.ReasonFinished, "the Agenda finished"), popv1.PhaseSucceeded)},
		},
	}
	runDecideCases(t, tests)
}
