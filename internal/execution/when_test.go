package execution

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
)

// whenSpec is a -> enc (under cond) -> pub (reads enc's output), plus an independent c.
func whenSpec(cond string) *builders.AgendaWrapper {
	return builders.MakeAgenda("ag", "ns").UID("uid-ag").Generation(1).Params(map[string]any{"min": 1}).
		Op("a", "h", 1).Op("enc", "h", "x").When(cond).Op("pub", "h", "@<enc.out>").Op("c", "h", "y")
}

// aEnded is whenSpec admitted with a ended as given, c succeeded, enc and pub waiting.
func aEnded(cond string, a *builders.OpStatusWrapper) *builders.AgendaWrapper {
	return admitted(whenSpec(cond)).StartedAt(startedAt).Ops(a, builders.OpStatus("enc", popv1.OperationWaiting),
		builders.OpStatus("pub", popv1.OperationWaiting), succeededC)
}

func aSucceeded(output string) *builders.OpStatusWrapper {
	return builders.OpStatus("a", popv1.OperationSucceeded).Attempt(1, podName("a")).StartedAt(startedAt).Output(output).Progress(100).CompletedAt(startedAt)
}

var aFailed = builders.OpStatus("a", popv1.OperationFailed).Attempt(1, podName("a")).StartedAt(startedAt).Failures(1).
	CompletedAt(startedAt).Message("handler exited with code 1")

const (
	skippedByWhen = "skipped: its when condition is false"
	skippedByNeed = "skipped: an operation it needs, or under FailFast any operation, failed"
)

// oneOfFour is the Running message with one of four operations executing.
func oneOfFour(complete string) string {
	return "1 of 4 operations executing, " + complete + " complete"
}

func TestDecideWhen(t *testing.T) {
	const gt = "ops.a.output.v > params.min"
	tests := map[string]decideCase{
		"while the operation it reads runs, the condition waits": {
			ag: admitted(whenSpec(gt)).StartedAt(startedAt).Ops(runningA, builders.OpStatus("enc", popv1.OperationWaiting),
				builders.OpStatus("pub", popv1.OperationWaiting), succeededC),
			pods: []*corev1.Pod{pod(podName("a"), startedAt, corev1.PodRunning, "", 0)},
			want: Plan{Status: settled(admitted(whenSpec(gt)).StartedAt(startedAt).PercentComplete(25).Ops(runningA,
				builders.OpStatus("enc", popv1.OperationWaiting), builders.OpStatus("pub", popv1.OperationWaiting), succeededC).
				Condition(popv1.AgendaRunning, true, popv1.ReasonOperationsExecuting, oneOfFour("1")), popv1.PhaseRunning)},
		},
		"true: the operation starts": {
			ag: aEnded(gt, aSucceeded(`{"v": 2}`)),
			want: Plan{
				Launch: []Launch{{Index: 1, Attempt: 1, Payload: []byte(`"x"`)}},
				Status: settled(aEnded(gt, aSucceeded(`{"v": 2}`)).PercentComplete(50).Ops(aSucceeded(`{"v": 2}`),
					builders.OpStatus("enc", popv1.OperationExecuting).Attempt(1, podName("enc")).StartedAt(t0),
					builders.OpStatus("pub", popv1.OperationWaiting), succeededC).
					Condition(popv1.AgendaRunning, true, popv1.ReasonOperationsExecuting, oneOfFour("2")), popv1.PhaseRunning),
			},
		},
		"false: Skipped, its dependent too, and the Agenda succeeds": {
			ag: aEnded(gt, aSucceeded(`{"v": 1}`)),
			want: Plan{Status: settled(aEnded(gt, aSucceeded(`{"v": 1}`)).PercentComplete(100).CompletedAt(t0).Ops(aSucceeded(`{"v": 1}`),
				builders.OpStatus("enc", popv1.OperationSkipped).CompletedAt(t0).Message(skippedByWhen),
				builders.OpStatus("pub", popv1.OperationSkipped).CompletedAt(t0).Message(skippedByNeed), succeededC).
				Condition(popv1.AgendaSucceeded, true, popv1.ReasonAllOperationsSucceed, "2 operations succeeded, 2 skipped").
				Condition(popv1.AgendaRunning, false, popv1.ReasonFinished, "the Agenda finished"), popv1.PhaseSucceeded)},
		},
		"false under FailFast: a skip is no failure, an independent operation still starts": {
			ag: admitted(whenSpec(gt)).StartedAt(startedAt).Ops(aSucceeded(`{"v": 0}`), builders.OpStatus("enc", popv1.OperationWaiting),
				builders.OpStatus("pub", popv1.OperationWaiting), builders.OpStatus("c", popv1.OperationWaiting)),
			want: Plan{
				Launch: []Launch{{Index: 3, Attempt: 1, Payload: []byte(`"y"`)}},
				Status: settled(admitted(whenSpec(gt)).StartedAt(startedAt).PercentComplete(25).Ops(aSucceeded(`{"v": 0}`),
					builders.OpStatus("enc", popv1.OperationSkipped).CompletedAt(t0).Message(skippedByWhen),
					builders.OpStatus("pub", popv1.OperationSkipped).CompletedAt(t0).Message(skippedByNeed),
					builders.OpStatus("c", popv1.OperationExecuting).Attempt(1, podName("c")).StartedAt(t0)).
					Condition(popv1.AgendaRunning, true, popv1.ReasonOperationsExecuting, oneOfFour("1")), popv1.PhaseRunning),
			},
		},
		"a skip recorded earlier is no failure under FailFast: the independent operation starts": {
			ag: admitted(whenSpec(gt)).StartedAt(startedAt).Ops(aSucceeded(`{"v": 0}`),
				builders.OpStatus("enc", popv1.OperationSkipped).CompletedAt(startedAt).Message(skippedByWhen),
				builders.OpStatus("pub", popv1.OperationWaiting), builders.OpStatus("c", popv1.OperationWaiting)),
			want: Plan{
				Launch: []Launch{{Index: 3, Attempt: 1, Payload: []byte(`"y"`)}},
				Status: settled(admitted(whenSpec(gt)).StartedAt(startedAt).PercentComplete(25).Ops(aSucceeded(`{"v": 0}`),
					builders.OpStatus("enc", popv1.OperationSkipped).CompletedAt(startedAt).Message(skippedByWhen),
					builders.OpStatus("pub", popv1.OperationSkipped).CompletedAt(t0).Message(skippedByNeed),
					builders.OpStatus("c", popv1.OperationExecuting).Attempt(1, podName("c")).StartedAt(t0)).
					Condition(popv1.AgendaRunning, true, popv1.ReasonOperationsExecuting, oneOfFour("1")), popv1.PhaseRunning),
			},
		},
		"an evaluation error fails the operation with the message": {
			ag: aEnded("ops.a.output.missing > 1", aSucceeded(`{"v": 1}`)),
			want: Plan{Status: settled(aEnded("ops.a.output.missing > 1", aSucceeded(`{"v": 1}`)).PercentComplete(50).CompletedAt(t0).Ops(aSucceeded(`{"v": 1}`),
				builders.OpStatus("enc", popv1.OperationFailed).CompletedAt(t0).Message("evaluating when: no such key: missing"),
				builders.OpStatus("pub", popv1.OperationSkipped).CompletedAt(t0).Message(skippedByNeed), succeededC).
				Condition(popv1.AgendaFailed, true, popv1.ReasonOperationFailed, "operation enc failed: evaluating when: no such key: missing").
				Condition(popv1.AgendaRunning, false, popv1.ReasonFinished, "the Agenda finished"), popv1.PhaseFailed)},
		},
		"ContinueIndependent: a condition on a failed operation's phase runs a compensation": {
			ag: aEnded(`ops.a.phase == "Failed"`, aFailed).FailurePolicy(popv1.ContinueIndependent),
			want: Plan{
				Launch: []Launch{{Index: 1, Attempt: 1, Payload: []byte(`"x"`)}},
				Status: settled(aEnded(`ops.a.phase == "Failed"`, aFailed).FailurePolicy(popv1.ContinueIndependent).PercentComplete(25).Ops(aFailed,
					builders.OpStatus("enc", popv1.OperationExecuting).Attempt(1, podName("enc")).StartedAt(t0),
					builders.OpStatus("pub", popv1.OperationWaiting), succeededC).
					Condition(popv1.AgendaRunning, true, popv1.ReasonOperationsExecuting, oneOfFour("1")), popv1.PhaseRunning),
			},
		},
	}
	runDecideCases(t, tests)
}

func runDecideCases(t *testing.T, tests map[string]decideCase) {
	t.Helper()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Decide(tc.observed(t))
			if diff := cmp.Diff(tc.want, got, planCmp...); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}
