package execution

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/podspec"
)

// annotationHandler is a HandlerType written for the original POP: output and progress in
// its own Pod's annotations.
var annotationHandler = popv1.HandlerTypeSpec{ServiceAccountName: "reporter",
	Outputs: &popv1.OutputSpec{Mode: popv1.OutputAnnotation, MaxBytes: 1024}}

// reported is a Pod that exited 0 after writing progress (and a payload) as POP handlers do.
func reported(name, progress string) *corev1.Pod {
	p := pod(name, t0, corev1.PodSucceeded, "", 0)
	p.Annotations = map[string]string{popv1.ReportProgressAnnotation: progress, popv1.ReportPayloadAnnotation: `{"frames": 240}`}
	return p
}

// TestPOPHandlerReportingFailureFailsTheAttempt: the original POP's handlers exit 0 and say
// how the operation ended in pop.report.progress — processingState COMPLETE with
// processingStateMessage "failed" (handler-base's OperationProgressFactory, the executor's
// generateFailedOperationProgress). Such an attempt failed, whatever the exit code.
func TestPOPHandlerReportingFailureFailsTheAttempt(t *testing.T) {
	tests := map[string]struct {
		progress    string
		wantState   popv1.OperationState
		wantMessage string
	}{
		"COMPLETE/failed with a diagnostic": {
			progress:    `{"processingState":"COMPLETE","processingStateMessage":"failed","percentComplete":40,"diagnosticEvents":[{"message":"transcode failed: bad codec","stackTrace":"at X"}]}`,
			wantState:   popv1.OperationFailed,
			wantMessage: "the handler reported failure in pop.report.progress (processingState COMPLETE, processingStateMessage failed): transcode failed: bad codec",
		},
		"processingState failed": {
			progress:    `{"processingState":"failed"}`,
			wantState:   popv1.OperationFailed,
			wantMessage: "the handler reported failure in pop.report.progress (processingState failed)",
		},
		"COMPLETE/succeeded": {
			progress:  `{"processingState":"COMPLETE","processingStateMessage":"succeeded","percentComplete":100}`,
			wantState: popv1.OperationSucceeded,
		},
		"a plain number": {progress: "100", wantState: popv1.OperationSucceeded},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ag := withOps(chain(), executing("a"))
			plan := Decide(observe(t, ag, annotationHandler, reported("ag-a-1", tc.progress)))
			a := opStatus(plan.Status, "a")
			if a.State != tc.wantState || a.Message != tc.wantMessage {
				t.Errorf("a: %s %q, want %s %q", a.State, a.Message, tc.wantState, tc.wantMessage)
			}
			if tc.wantState == popv1.OperationSucceeded && a.Output != `{"frames": 240}` {
				t.Errorf("output %q", a.Output)
			}
		})
	}
}

// TestRetryCarriesTheLastProgress: like the original POP's executor, which gave a handler its
// prior OperationProgress as LAST_PROGRESS, a retry is launched with what the failed attempt
// last wrote in pop.report.progress (a POP progress object), so that it can resume.
func TestRetryCarriesTheLastProgress(t *testing.T) {
	const last = `{"processingState":"COMPLETE","processingStateMessage":"failed","percentComplete":40,"params":{"done":"part-1"}}`
	ag := withOps(chain(), popv1.OperationStatus{Name: "a", State: popv1.OperationWaiting, Attempts: 1, Failures: 1,
		Pod: podspec.Name(chain(), "a", 1)})
	ag.Spec.Operations[0].Retries = new(int32)
	*ag.Spec.Operations[0].Retries = 1
	failed := reported(podspec.Name(chain(), "a", 1), last)
	plan := Decide(observe(t, ag, annotationHandler, failed))

	if len(plan.Launch) == 0 || plan.Launch[0].Index != 0 || plan.Launch[0].Attempt != 2 {
		t.Fatalf("launches %+v, want attempt 2 of a", plan.Launch)
	}
	if got := plan.Launch[0].LastProgress; got != last {
		t.Errorf("LastProgress = %q, want %q", got, last)
	}
	for _, l := range plan.Launch[1:] {
		if l.LastProgress != "" {
			t.Errorf("first attempt of operation %d carries LastProgress %q", l.Index, l.LastProgress)
		}
	}
	if !strings.Contains(plan.Launch[0].LastProgress, "part-1") {
		t.Error("the params of the last progress are lost")
	}
}
