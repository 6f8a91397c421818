package execution

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
)

// optionalAgenda: a; soft reads a only optionally; hard reads it plainly.
func optionalAgenda(policy popv1.FailurePolicy) *popv1.Agenda {
	ag := builders.MakeAgenda("ag", "ns").Op("a", "h", 1).
		Op("soft", "h", map[string]any{"lang": "@<a.out::/lang?en>", "all": "@<a.out?>"}).
		Op("hard", "h", "@<a.out::/lang>").Obj()
	ag.Spec.FailurePolicy = policy
	return ag
}

// TestOptionalReferenceToAFailedOperation: decision (docs/references.md): under
// ContinueIndependent an operation that reads a failed or skipped operation only through
// optional references still runs once that operation ended, its references giving null or
// their default; one that needs the output is skipped. Under FailFast nothing starts after a
// failure, optional or not.
func TestOptionalReferenceToAFailedOperation(t *testing.T) {
	tests := map[popv1.FailurePolicy]struct {
		states map[string]popv1.OperationState
		launch []Launch
	}{
		popv1.ContinueIndependent: {
			states: map[string]popv1.OperationState{"a": "Failed", "soft": "Executing", "hard": "Skipped"},
			launch: []Launch{{Index: 1, Attempt: 1, Payload: []byte(`{"all":null,"lang":"en"}`)}},
		},
		popv1.FailFast: {
			states: map[string]popv1.OperationState{"a": "Failed", "soft": "Skipped", "hard": "Skipped"},
		},
	}
	for policy, tc := range tests {
		t.Run(string(policy), func(t *testing.T) {
			ag := withOps(optionalAgenda(policy), executing("a"))
			plan := Decide(observe(t, ag, popv1.HandlerTypeSpec{}, pod("ag-a-1", t0, corev1.PodFailed, "boom", 1)))
			if diff := cmp.Diff(tc.states, states(plan.Status)); diff != "" {
				t.Errorf("states (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.launch, plan.Launch); diff != "" {
				t.Errorf("launches (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOptionalReferenceWaitsForItsOperation: while the operation it reads optionally runs,
// the reader waits: optional means "null if it produced nothing", not "do not wait".
func TestOptionalReferenceWaitsForItsOperation(t *testing.T) {
	ag := withOps(optionalAgenda(popv1.ContinueIndependent), executing("a"))
	plan := Decide(observe(t, ag, popv1.HandlerTypeSpec{}, pod("ag-a-1", t0, corev1.PodRunning, "", 0)))
	if len(plan.Launch) != 0 {
		t.Errorf("launched %+v while a runs", plan.Launch)
	}
	plan = Decide(observe(t, ag, popv1.HandlerTypeSpec{}, pod("ag-a-1", t0, corev1.PodSucceeded, `{"lang":"fr"}`, 0)))
	want := []Launch{{Index: 1, Attempt: 1, Payload: []byte(`{"all":{"lang":"fr"},"lang":"fr"}`)}, {Index: 2, Attempt: 1, Payload: []byte(`"fr"`)}}
	if diff := cmp.Diff(want, plan.Launch); diff != "" {
		t.Errorf("launches once a succeeded (-want +got):\n%s", diff)
	}
}
