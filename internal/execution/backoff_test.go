package execution

import (
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// stored is an Agenda as the next pass reads it: through JSON, as the API server keeps it.
func stored(t *testing.T, ag *popv1.Agenda) *popv1.Agenda {
	t.Helper()
	raw, err := json.Marshal(ag)
	if err != nil {
		t.Fatal(err)
	}
	var out popv1.Agenda
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// TestRetryWaitsItsWholeBackoffOnceStored: the time of the next attempt survives the status
// write with sub-second precision. Stored in whole seconds it was cut by up to a second, and
// a pass woken by any event before the backoff ended started the retry early (a 2 s backoff
// measured 1.1 s in envtest).
func TestRetryWaitsItsWholeBackoffOnceStored(t *testing.T) {
	h := popv1.HandlerTypeSpec{Retries: &popv1.RetrySpec{Limit: 1, Backoff: &popv1.BackoffSpec{Initial: dur(time.Second)}}}
	ag := withOps(chain(), executing("a"))
	obs := observe(t, ag, h, pod("ag-a-1", t0, corev1.PodFailed, "boom", 1))
	obs.Now = t0.Add(600 * time.Millisecond) // the failure is seen mid-second
	plan := Decide(obs)
	if a := opStatus(plan.Status, "a"); a.NextAttemptTime == nil || !a.NextAttemptTime.Time.Equal(t0.Add(1600*time.Millisecond)) {
		t.Fatalf("nextAttemptTime %v, want the failure + 1s", a.NextAttemptTime)
	}

	next := chain()
	next.Status = plan.Status
	next = stored(t, next)
	obs = observe(t, next, h)
	obs.Now = t0.Add(1200 * time.Millisecond) // a pass woken early, by an unrelated event
	if plan := Decide(obs); len(plan.Launch) != 0 && plan.Launch[0].Index == 0 {
		t.Errorf("retry launched %s after the failure, before its 1s backoff ended (nextAttemptTime read back as %v)",
			obs.Now.Sub(t0.Add(600*time.Millisecond)), opStatus(next.Status, "a").NextAttemptTime)
	}
	obs.Now = t0.Add(1600 * time.Millisecond)
	if plan := Decide(obs); len(plan.Launch) == 0 || plan.Launch[0].Index != 0 {
		t.Errorf("no retry once the backoff ended: %+v", plan.Launch)
	}
}

func dur(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }
