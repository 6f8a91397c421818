package retrypolicy

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

const handler = "handler"

func exited(code int32, reason string) *corev1.Pod {
	return &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{
		{Name: "sidecar", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 9}}},
		{Name: handler, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason}}},
	}}}
}

func TestClassify(t *testing.T) {
	evicted := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted", Message: "low on memory"}}
	preempted := exited(143, "Error")
	preempted.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "PreemptionByScheduler"}}
	deadline := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "DeadlineExceeded"}}
	lost := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed}}
	for _, tc := range []struct {
		name     string
		pod      *corev1.Pod
		timedOut bool
		want     Failure
	}{
		{"exit code of the handler, not of a sidecar", exited(3, "Error"), false, Failure{Class: ExitCode, ExitCode: 3}},
		{"out of memory", exited(137, "OOMKilled"), false, Failure{Class: OOMKilled, ExitCode: 137}},
		{"evicted", evicted, false, Failure{Class: Disrupted}},
		{"preempted: the condition wins over the exit code", preempted, false, Failure{Class: Disrupted}},
		{"activeDeadlineSeconds", deadline, false, Failure{Class: TimedOut}},
		{"given up by the manager", exited(0, ""), true, Failure{Class: TimedOut}},
		{"failed with no handler status", lost, false, Failure{Class: Disrupted}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.pod, handler, tc.timedOut); got != tc.want {
				t.Errorf("Classify = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	onlyDisruptions := Policy{RetryOn: []Class{Disrupted, OOMKilled}}
	neverOnBadInput := Policy{NeverRetryExitCodes: []int32{2, 64}}
	for _, tc := range []struct {
		name   string
		policy Policy
		f      Failure
		want   bool
	}{
		{"the zero policy retries everything", Policy{}, Failure{Class: ExitCode, ExitCode: 1}, true},
		{"the zero policy retries a refused Pod", Policy{}, Failure{Class: PodRefused}, true},
		{"a class listed", onlyDisruptions, Failure{Class: Disrupted}, true},
		{"a class not listed", onlyDisruptions, Failure{Class: ExitCode, ExitCode: 1}, false},
		{"Any", Policy{RetryOn: []Class{Any}}, Failure{Class: TimedOut}, true},
		{"a never-retry code", neverOnBadInput, Failure{Class: ExitCode, ExitCode: 64}, false},
		{"another code", neverOnBadInput, Failure{Class: ExitCode, ExitCode: 1}, true},
		{"a never-retry code wins over Any", Policy{RetryOn: []Class{Any}, NeverRetryExitCodes: []int32{2}}, Failure{Class: ExitCode, ExitCode: 2}, false},
		{"exit codes do not apply to disruptions", neverOnBadInput, Failure{Class: Disrupted}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.policy.Retryable(tc.f); got != tc.want {
				t.Errorf("Retryable(%+v) = %v, want %v", tc.f, got, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	const field = "spec.operations[2].retryPolicy"
	if err := (Policy{RetryOn: []Class{ExitCode, Any}, NeverRetryExitCodes: []int32{1, 255}}).Validate(field); err != nil {
		t.Fatalf("valid policy refused: %v", err)
	}
	for _, tc := range []struct {
		p    Policy
		want string
	}{
		{Policy{RetryOn: []Class{"OOM"}}, `spec.operations[2].retryPolicy.retryOn[0]: unknown class "OOM"`},
		{Policy{NeverRetryExitCodes: []int32{0}}, "spec.operations[2].retryPolicy.neverRetryExitCodes[0]: 0 is not a failing exit code"},
		{Policy{NeverRetryExitCodes: []int32{256}}, "neverRetryExitCodes[0]: 256 is not a failing exit code"},
		{Policy{NeverRetryExitCodes: make([]int32, 33)}, "neverRetryExitCodes: 33 codes; at most 32"},
	} {
		if err := tc.p.Validate(field); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.p, err, tc.want)
		}
	}
}
