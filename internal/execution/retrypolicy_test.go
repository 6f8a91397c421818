package execution

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
)

// withPolicy is partWay with a retry policy on a.
func withPolicy(rp popv1.RetryPolicy) *builders.AgendaWrapper {
	w := partWay()
	w.Spec.Operations[0].RetryPolicy = &rp
	return w
}

func evicted(name string, created time.Time) *corev1.Pod {
	p := pod(name, created, corev1.PodFailed, "", 0)
	p.Status.ContainerStatuses = nil
	p.Status.Reason, p.Status.Message = "Evicted", "node low on memory"
	return p
}

func TestDecideRetryPolicy(t *testing.T) {
	oneRetry := popv1.HandlerTypeSpec{Retries: &popv1.RetrySpec{Limit: 1, Backoff: &popv1.BackoffSpec{Initial: &metav1.Duration{Duration: 4 * time.Second}}}}
	never2 := popv1.RetryPolicy{NeverRetryExitCodes: []int32{2}}
	onlyDisrupted := popv1.RetryPolicy{RetryOn: []popv1.RetryClass{"Disrupted"}}
	failedFinal := func(w *builders.AgendaWrapper, msg string) popv1.AgendaStatus {
		return settled(w.Ops(
			builders.OpStatus("a", popv1.OperationFailed).Attempt(1, podName("a")).StartedAt(startedAt).Failures(1).CompletedAt(t0).Message(msg),
			builders.OpStatus("b", popv1.OperationSkipped).CompletedAt(t0).Message("skipped: an operation it needs, or under FailFast any operation, failed"),
			runningC).
			Condition(popv1.AgendaRunning, true, popv1.ReasonOperationsExecuting, executingMsg("1", "0")), popv1.PhaseRunning)
	}
	retried := func(w *builders.AgendaWrapper, msg string) popv1.AgendaStatus {
		return settled(w.Ops(
			builders.OpStatus("a", popv1.OperationWaiting).Attempt(1, podName("a")).StartedAt(startedAt).Failures(1).NextAttemptAt(t0.Add(4*time.Second)).Message(msg),
			waitingB, runningC).
			Condition(popv1.AgendaRunning, true, popv1.ReasonOperationsExecuting, executingMsg("1", "0")), popv1.PhaseRunning)
	}
	runningPodC := pod(podName("c"), startedAt, corev1.PodRunning, "", 0)
	tests := map[string]decideCase{
		"an exit code in neverRetryExitCodes is final, retries left or not": {
			ag: withPolicy(never2), handler: oneRetry,
			pods: []*corev1.Pod{pod(podName("a"), startedAt, corev1.PodFailed, "bad input", 2), runningPodC},
			want: Plan{Status: failedFinal(withPolicy(never2), "handler exited with code 2: bad input (ExitCode failure: not retried by its retryPolicy)")},
		},
		"another exit code is retried": {
			ag: withPolicy(never2), handler: oneRetry,
			pods: []*corev1.Pod{pod(podName("a"), startedAt, corev1.PodFailed, "flaky", 1), runningPodC},
			want: Plan{RequeueAfter: 4 * time.Second, Status: retried(withPolicy(never2),
				"attempt 1 failed: handler exited with code 1: flaky; retry 1 of 1 at 2026-11-27T12:00:04Z")},
		},
		"retryOn Disrupted: an exit code is final": {
			ag: withPolicy(onlyDisrupted), handler: oneRetry,
			pods: []*corev1.Pod{pod(podName("a"), startedAt, corev1.PodFailed, "", 1), runningPodC},
			want: Plan{Status: failedFinal(withPolicy(onlyDisrupted), "handler exited with code 1 (ExitCode failure: not retried by its retryPolicy)")},
		},
		"retryOn Disrupted: an eviction is retried": {
			ag: withPolicy(onlyDisrupted), handler: oneRetry,
			pods: []*corev1.Pod{evicted(podName("a"), startedAt), runningPodC},
			want: Plan{RequeueAfter: 4 * time.Second, Status: retried(withPolicy(onlyDisrupted),
				"attempt 1 failed: Pod failed: Evicted: node low on memory; retry 1 of 1 at 2026-11-27T12:00:04Z")},
		},
		"retryOn Disrupted: a timeout is final": {
			ag: withPolicy(onlyDisrupted),
			handler: popv1.HandlerTypeSpec{Timeout: &metav1.Duration{Duration: 30 * time.Second},
				Retries: &popv1.RetrySpec{Limit: 1, Backoff: &popv1.BackoffSpec{Initial: &metav1.Duration{Duration: 4 * time.Second}}}},
			pods: []*corev1.Pod{pod(podName("a"), t0.Add(-40*time.Second), corev1.PodRunning, "", 0), pod(podName("c"), t0.Add(-time.Second), corev1.PodRunning, "", 0)},
			want: Plan{Delete: []string{podName("a")}, RequeueAfter: 34 * time.Second, Status: failedFinal(withPolicy(onlyDisrupted), "timed out after 30s (TimedOut failure: not retried by its retryPolicy)")},
		},
	}
	runDecideCases(t, tests)
}
