package execution

import (
	"strings"
	"testing"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// TestFailureMessagesKeepRunesWhole: a long failure message is cut to the API's 1,024
// characters on a rune boundary, so the status holds valid UTF-8 (the API server would
// otherwise store U+FFFD where the cut fell, and the next pass see a changed status).
func TestFailureMessagesKeepRunesWhole(t *testing.T) {
	long := strings.Repeat("é", 600) + strings.Repeat("日本", 300) // 1,200 + 1,800 bytes
	ag := withOps(chain(), executing("a"))
	plan := Decide(observe(t, ag, popv1.HandlerTypeSpec{}, pod("ag-a-1", t0, corev1.PodFailed, long, 3)))

	msg := opStatus(plan.Status, "a").Message
	if !utf8.ValidString(msg) {
		t.Errorf("operation message is not valid UTF-8; ends %q", msg[len(msg)-8:])
	}
	if len(msg) > 1024 || !strings.HasSuffix(msg, "...") {
		t.Errorf("operation message: %d bytes, ends %q; want at most 1024 ending in ...", len(msg), msg[len(msg)-8:])
	}
	for _, c := range plan.Status.Conditions {
		if !utf8.ValidString(c.Message) {
			t.Errorf("condition %s message is not valid UTF-8", c.Type)
		}
	}
}

// TestPercentCompleteCountsOnlyWorkDone: percentComplete is the share of operations that
// succeeded (running ones by their progress); failed, skipped and cancelled ones did not
// complete their work, so a Failed or Cancelled Agenda does not read 100.
func TestPercentCompleteCountsOnlyWorkDone(t *testing.T) {
	tests := map[string]struct {
		ops  []popv1.OperationStatus
		want int32
	}{
		"all succeeded": {ops: ops(popv1.OperationSucceeded, popv1.OperationSucceeded), want: 100},
		"one of three succeeded, one failed, one skipped": {
			ops: ops(popv1.OperationSucceeded, popv1.OperationFailed, popv1.OperationSkipped), want: 33},
		"cancelled before anything ran": {ops: ops(popv1.OperationCancelled, popv1.OperationCancelled), want: 0},
		"one succeeded, one at 50%": {
			ops: []popv1.OperationStatus{{State: popv1.OperationSucceeded}, {State: popv1.OperationExecuting, Progress: 50}}, want: 75},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := percentComplete(tc.ops); got != tc.want {
				t.Errorf("percentComplete = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestCancelledAgendaIsNotComplete: an Agenda cancelled mid-run reports the work it did.
func TestCancelledAgendaIsNotComplete(t *testing.T) {
	ag := withOps(chain(), popv1.OperationStatus{Name: "a", State: popv1.OperationSucceeded, Output: `{"v":1}`}, executing("c"))
	ag.Spec.Cancel = true
	plan := Decide(observe(t, ag, popv1.HandlerTypeSpec{}, pod("ag-c-1", t0, corev1.PodRunning, "", 0)))
	if plan.Status.Phase != popv1.PhaseCancelled || plan.Status.PercentComplete != 33 {
		t.Errorf("phase %s, percentComplete %d; want Cancelled, 33", plan.Status.Phase, plan.Status.PercentComplete)
	}
}

func ops(states ...popv1.OperationState) []popv1.OperationStatus {
	out := make([]popv1.OperationStatus, len(states))
	for i, s := range states {
		out[i].State = s
	}
	return out
}
