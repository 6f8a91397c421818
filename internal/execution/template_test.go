package execution

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// TestAwaitTemplate: a missing template keeps the Agenda not Accepted until the launch wait
// from its creation is over, then fails it, both with reason TemplateMissing.
func TestAwaitTemplate(t *testing.T) {
	created := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ag := &popv1.Agenda{ObjectMeta: metav1.ObjectMeta{Name: "a", Generation: 1, CreationTimestamp: metav1.NewTime(created)},
		Spec: popv1.AgendaSpec{Template: "t"}}

	plan := AwaitTemplate(ag, "not found", created.Add(time.Minute), 0)
	acc := meta.FindStatusCondition(plan.Status.Conditions, popv1.AgendaAccepted)
	if acc == nil || acc.Status != metav1.ConditionFalse || acc.Reason != popv1.ReasonTemplateMissing ||
		!strings.Contains(acc.Message, "still missing at 2026-12-01T10:05:00Z") {
		t.Fatalf("waiting: Accepted = %+v", acc)
	}
	if plan.RequeueAfter != 4*time.Minute || plan.Status.Phase == popv1.PhaseFailed {
		t.Errorf("waiting: requeue %s, phase %s; want 4m, not Failed", plan.RequeueAfter, plan.Status.Phase)
	}
	ag.Status = plan.Status
	again := AwaitTemplate(ag, "not found", created.Add(2*time.Minute), 0)
	if again.Status.Conditions[0].LastTransitionTime != plan.Status.Conditions[0].LastTransitionTime || again.Status.Conditions[0].Message != acc.Message {
		t.Error("waiting longer rewrote the condition")
	}

	done := AwaitTemplate(ag, "not found", created.Add(5*time.Minute), 0)
	failed := meta.FindStatusCondition(done.Status.Conditions, popv1.AgendaFailed)
	if done.Status.Phase != popv1.PhaseFailed || failed == nil || failed.Reason != popv1.ReasonTemplateMissing ||
		done.Status.CompletionTime == nil || done.RequeueAfter != 0 {
		t.Errorf("after the wait: phase %s, Failed %+v, completion %v", done.Status.Phase, failed, done.Status.CompletionTime)
	}
	if short := AwaitTemplate(ag, "x", created.Add(3*time.Second), 3*time.Second); short.Status.Phase != popv1.PhaseFailed {
		t.Errorf("a 3s launch wait: phase %s after 3s", short.Status.Phase)
	}
}
