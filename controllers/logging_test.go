package controllers

import (
	"context"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// TestOperationLogsCarryTheCommonKeys: a failed operation is logged with the keys every
// component shares (agenda from the reconcile context, insight, operation, attempt, pod).
func TestOperationLogsCarryTheCommonKeys(t *testing.T) {
	var lines []string
	log := funcr.NewJSON(func(obj string) { lines = append(lines, obj) }, funcr.Options{Verbosity: 1})
	ctx := logf.IntoContext(context.Background(), log.WithValues("agenda", "acme/job"))
	r := &AgendaReconciler{Recorder: events.NewFakeRecorder(10)}
	ag := &popv1.Agenda{ObjectMeta: metav1.ObjectMeta{Name: "job", Namespace: "acme"},
		Spec: popv1.AgendaSpec{Operations: []popv1.Operation{{Name: "encode", Type: "sample"}}},
		Status: popv1.AgendaStatus{Phase: popv1.PhaseRunning, Insight: "acme/urgent",
			Operations: []popv1.OperationStatus{{Name: "encode", State: popv1.OperationExecuting, Attempts: 2, Pod: "job-encode-2"}}}}
	next := ag.Status.DeepCopy()
	next.Phase = popv1.PhaseFailed
	next.Operations[0].State, next.Operations[0].Message = popv1.OperationFailed, "exit code 3"

	r.recordTransitions(ctx, ag, next)

	var failed, phase string
	for _, l := range lines {
		switch {
		case strings.Contains(l, `"msg":"Operation failed"`):
			failed = l
		case strings.Contains(l, `"msg":"Agenda changed phase"`):
			phase = l
		}
	}
	for _, key := range []string{`"agenda":"acme/job"`, `"insight":"acme/urgent"`, `"operation":"encode"`, `"attempt":2`, `"pod":"job-encode-2"`, `"message":"exit code 3"`} {
		if !strings.Contains(failed, key) {
			t.Errorf("operation failure log lacks %s: %s", key, failed)
		}
	}
	if !strings.Contains(phase, `"agenda":"acme/job"`) || !strings.Contains(phase, `"phase":"Failed"`) {
		t.Errorf("phase log: %s", phase)
	}
}
