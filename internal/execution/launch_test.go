package execution

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
)

const goneWhy = `HandlerType "gone" not found in namespace "ns" or "pop-system"`

// twoTypes is a (type h) -> b (type gone), plus c (type gone) with no dependency.
func twoTypes() *popv1.Agenda {
	return builders.MakeAgenda("ag", "ns").Op("a", "h", 1).Op("b", "gone", "@<a.out>").Op("c", "gone", "x").Obj()
}

func withoutGone(obs Observed) Observed {
	obs.Unavailable = map[string]string{"gone": goneWhy}
	return obs
}

func TestDecideHoldsOnlyLaunchesOfAnUnavailableType(t *testing.T) {
	ag := withOps(twoTypes(), executing("a"))
	plan := Decide(withoutGone(observe(t, ag, popv1.HandlerTypeSpec{}, pod("ag-a-1", t0, corev1.PodSucceeded, "7", 0))))

	if diff := cmp.Diff(map[string]popv1.OperationState{"a": "Succeeded", "b": "Waiting", "c": "Waiting"}, states(plan.Status)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if len(plan.Launch) != 0 {
		t.Errorf("launched %+v", plan.Launch)
	}
	for _, name := range []string{"b", "c"} {
		o := opStatus(plan.Status, name)
		if o.BlockedSince == nil || !o.BlockedSince.Time.Equal(t0) || !strings.Contains(o.Message, goneWhy) {
			t.Errorf("%s: blockedSince %v, message %q", name, o.BlockedSince, o.Message)
		}
	}
	if plan.RequeueAfter != DefaultLaunchWait {
		t.Errorf("requeue after %s, want the launch wait %s", plan.RequeueAfter, DefaultLaunchWait)
	}
}

func TestDecideFailsAnOperationHeldPastTheLaunchWait(t *testing.T) {
	held := func(name string, since time.Duration) popv1.OperationStatus {
		return popv1.OperationStatus{Name: name, State: popv1.OperationWaiting, BlockedSince: &metav1.Time{Time: t0.Add(-since)}}
	}
	ag := withOps(twoTypes(), popv1.OperationStatus{Name: "a", State: popv1.OperationSucceeded, Output: "1"},
		held("b", time.Minute), held("c", 2*time.Minute))
	obs := withoutGone(observe(t, ag, popv1.HandlerTypeSpec{}))
	obs.LaunchWait = 2 * time.Minute
	plan := Decide(obs)

	c := opStatus(plan.Status, "c")
	if c.State != popv1.OperationFailed || c.BlockedSince != nil || !strings.Contains(c.Message, "no usable HandlerType after waiting 2m0s: "+goneWhy) {
		t.Errorf("c: %+v", c)
	}
	// FailFast: b, still within its wait, is skipped once c failed.
	if b := opStatus(plan.Status, "b"); b.State != popv1.OperationSkipped || b.BlockedSince != nil {
		t.Errorf("b: %+v", b)
	}
	if plan.Status.Phase != popv1.PhaseFailed {
		t.Errorf("phase %s", plan.Status.Phase)
	}
}

func TestDecideJudgesAPodOfADeletedHandlerTypeByWhatThePodCarries(t *testing.T) {
	ag := withOps(twoTypes(), executing("a"))
	p := pod("ag-a-1", t0, corev1.PodSucceeded, "", 0)
	p.Spec.Containers = []corev1.Container{{Name: "handler", Env: []corev1.EnvVar{{Name: "POP_OUTPUT_MODE", Value: "Annotation"}}}}
	p.Annotations = map[string]string{popv1.ReportPayloadAnnotation: `{"from":"annotation"}`}
	obs := observe(t, ag, popv1.HandlerTypeSpec{}, p)
	obs.Handlers = map[string]*popv1.HandlerTypeSpec{} // "h" was deleted too
	obs.Unavailable = map[string]string{"h": "deleted", "gone": goneWhy}
	plan := Decide(obs)

	if a := opStatus(plan.Status, "a"); a.State != popv1.OperationSucceeded || a.Output != `{"from":"annotation"}` {
		t.Errorf("a: %+v", a)
	}
}

func TestDecideTimesOutAPodOfADeletedHandlerTypeByItsDeadline(t *testing.T) {
	ag := withOps(twoTypes(), executing("a"))
	p := pod("ag-a-1", t0.Add(-time.Minute), corev1.PodRunning, "", 0)
	p.Spec.ActiveDeadlineSeconds = ptr.To[int64](30)
	obs := observe(t, ag, popv1.HandlerTypeSpec{}, p)
	obs.Handlers = map[string]*popv1.HandlerTypeSpec{}
	plan := Decide(obs)

	if a := opStatus(plan.Status, "a"); a.State != popv1.OperationFailed || !strings.Contains(a.Message, "timed out after 30s") {
		t.Errorf("a: %+v", a)
	}
	if diff := cmp.Diff([]string{"ag-a-1"}, plan.Delete); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
}

// TestRefuse: the launches the API server refused are fed back through the planner, which
// returns the whole plan again: the refused launch taken back, the operation's status, the
// failure policy applied and the requeue time.
func TestRefuse(t *testing.T) {
	const quota = `pods "ag-a-1" is forbidden: exceeded quota: q`
	skippedB := builders.OpStatus("b", popv1.OperationSkipped).CompletedAt(t0).
		Message("skipped: an operation it needs, or under FailFast any operation, failed")
	tests := map[string]struct {
		refusal      Refusal
		retries      int32
		blockedSince time.Duration // before t0; 0 when not blocked before
		a, b         *builders.OpStatusWrapper
		requeue      time.Duration
	}{
		"permanent, no retry: the operation fails, FailFast skips b": {
			refusal: Refusal{Index: 0, Message: "spec.activeDeadlineSeconds: Invalid value: 0", Permanent: true},
			a: builders.OpStatus("a", popv1.OperationFailed).Attempt(1, "").Failures(1).CompletedAt(t0).
				Message("Pod refused by the API server: spec.activeDeadlineSeconds: Invalid value: 0"),
			b: skippedB,
		},
		"permanent with retries: a failed attempt, retried after its backoff": {
			refusal: Refusal{Index: 0, Message: "no PriorityClass with name x was found", Permanent: true}, retries: 1,
			a: builders.OpStatus("a", popv1.OperationWaiting).Attempt(1, "").Failures(1).NextAttemptAt(t0.Add(10 * time.Second)).
				Message("attempt 1 failed: Pod refused by the API server: no PriorityClass with name x was found; retry 1 of 1 at 2026-11-27T12:00:10Z"),
			b: waitingB, requeue: 10 * time.Second,
		},
		"transient, first time: waits a second, attempt number kept free": {
			refusal: Refusal{Index: 0, Message: quota},
			a: builders.OpStatus("a", popv1.OperationWaiting).BlockedSince(t0).NextAttemptAt(t0.Add(time.Second)).
				Message("Pod refused by the API server: " + quota + "; trying again at 2026-11-27T12:00:01Z, giving up at 2026-11-27T12:05:00Z"),
			b: waitingB, requeue: time.Second,
		},
		"transient, refused for 20s: waits 20s more": {
			refusal: Refusal{Index: 0, Message: quota}, blockedSince: 20 * time.Second,
			a: builders.OpStatus("a", popv1.OperationWaiting).BlockedSince(t0.Add(-20 * time.Second)).NextAttemptAt(t0.Add(20 * time.Second)).
				Message("Pod refused by the API server: " + quota + "; trying again at 2026-11-27T12:00:20Z, giving up at 2026-11-27T12:04:40Z"),
			b: waitingB, requeue: 20 * time.Second,
		},
		"transient past the launch wait: the attempt fails": {
			refusal: Refusal{Index: 0, Message: quota}, blockedSince: DefaultLaunchWait,
			a: builders.OpStatus("a", popv1.OperationFailed).Attempt(1, "").Failures(1).CompletedAt(t0).
				Message("Pod refused by the API server: " + quota + " (refused since 2026-11-27T11:55:00Z)"),
			b: skippedB,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := admitted(refusalAgenda(tc.retries))
			if tc.blockedSince > 0 {
				in.Ops(builders.OpStatus("a", popv1.OperationWaiting).BlockedSince(t0.Add(-tc.blockedSince)))
			}
			obs := observe(t, in.Obj(), popv1.HandlerTypeSpec{})
			got := Refuse(obs, Decide(obs), []Refusal{tc.refusal})

			runningC := builders.OpStatus("c", popv1.OperationExecuting).Attempt(1, podName("c")).StartedAt(t0)
			want := Plan{
				Launch:       []Launch{{Index: 2, Attempt: 1, Payload: []byte(`"x"`)}},
				RequeueAfter: tc.requeue,
				Status: settled(admitted(refusalAgenda(tc.retries)).StartedAt(t0).Ops(tc.a, tc.b, runningC).
					Condition(popv1.AgendaRunning, true, popv1.ReasonOperationsExecuting, executingMsg("1", "0")), popv1.PhaseRunning),
			}
			if diff := cmp.Diff(want, got, planCmp...); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

// refusalAgenda is the chain with retries for a.
func refusalAgenda(retries int32) *builders.AgendaWrapper {
	w := chainSpec()
	w.Spec.Operations[0].Retries = &retries
	return w
}

func opStatus(st popv1.AgendaStatus, name string) popv1.OperationStatus {
	for _, o := range st.Operations {
		if o.Name == name {
			return o
		}
	}
	return popv1.OperationStatus{}
}
