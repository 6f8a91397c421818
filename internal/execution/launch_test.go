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

func TestRefuse(t *testing.T) {
	const quota = `pods "ag-a-1" is forbidden: exceeded quota: q`
	tests := map[string]struct {
		refusal      Refusal
		retries      int32
		blockedSince time.Duration // before t0; 0 when not blocked before
		want         popv1.OperationStatus
		wantPhase    popv1.AgendaPhase
		wantRequeue  time.Duration
	}{
		"permanent, no retry: the operation fails": {
			refusal: Refusal{Index: 0, Message: "spec.activeDeadlineSeconds: Invalid value: 0", Permanent: true},
			want: popv1.OperationStatus{Name: "a", State: popv1.OperationFailed, Attempts: 1, Failures: 1,
				CompletionTime: &metav1.Time{Time: t0}, Message: "Pod refused by the API server: spec.activeDeadlineSeconds: Invalid value: 0"},
			wantPhase: popv1.PhaseRunning, // c runs; b is skipped once c is done (FailFast)
		},
		"permanent with retries: a failed attempt, retried after its backoff": {
			refusal: Refusal{Index: 0, Message: "no PriorityClass with name x was found", Permanent: true}, retries: 1,
			want: popv1.OperationStatus{Name: "a", State: popv1.OperationWaiting, Attempts: 1, Failures: 1,
				NextAttemptTime: &metav1.MicroTime{Time: t0.Add(10 * time.Second)},
				Message:         "attempt 1 failed: Pod refused by the API server: no PriorityClass with name x was found; retry 1 of 1 at 2026-11-27T12:00:10Z"},
			wantPhase: popv1.PhaseRunning, wantRequeue: 10 * time.Second,
		},
		"transient, first time: waits a second, attempt number kept free": {
			refusal: Refusal{Index: 0, Message: quota},
			want: popv1.OperationStatus{Name: "a", State: popv1.OperationWaiting, Attempts: 0,
				BlockedSince: &metav1.Time{Time: t0}, NextAttemptTime: &metav1.MicroTime{Time: t0.Add(time.Second)},
				Message: "Pod refused by the API server: " + quota + "; trying again at 2026-11-27T12:00:01Z, giving up at 2026-11-27T12:05:00Z"},
			wantPhase: popv1.PhaseRunning, wantRequeue: time.Second,
		},
		"transient, refused for 20s: waits 20s more": {
			refusal: Refusal{Index: 0, Message: quota}, blockedSince: 20 * time.Second,
			want: popv1.OperationStatus{Name: "a", State: popv1.OperationWaiting, Attempts: 0,
				BlockedSince: &metav1.Time{Time: t0.Add(-20 * time.Second)}, NextAttemptTime: &metav1.MicroTime{Time: t0.Add(20 * time.Second)},
				Message: "Pod refused by the API server: " + quota + "; trying again at 2026-11-27T12:00:20Z, giving up at 2026-11-27T12:04:40Z"},
			wantPhase: popv1.PhaseRunning, wantRequeue: 20 * time.Second,
		},
		"transient past the launch wait: the attempt fails": {
			refusal: Refusal{Index: 0, Message: quota}, blockedSince: DefaultLaunchWait,
			want: popv1.OperationStatus{Name: "a", State: popv1.OperationFailed, Attempts: 1, Failures: 1,
				CompletionTime: &metav1.Time{Time: t0},
				Message:        "Pod refused by the API server: " + quota + " (refused since 2026-11-27T11:55:00Z)"},
			wantPhase: popv1.PhaseRunning,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ag := chain()
			ag.Spec.Operations[0].Retries = &tc.retries
			if tc.blockedSince > 0 {
				withOps(ag, popv1.OperationStatus{Name: "a", State: popv1.OperationWaiting, BlockedSince: &metav1.Time{Time: t0.Add(-tc.blockedSince)}})
			}
			obs := observe(t, ag, popv1.HandlerTypeSpec{})
			plan := Decide(obs)
			if len(plan.Launch) != 2 || plan.Launch[0].Index != 0 {
				t.Fatalf("launches %+v", plan.Launch)
			}
			plan = Refuse(obs, plan, []Refusal{tc.refusal})

			got := opStatus(plan.Status, "a")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("a (-want +got):\n%s", diff)
			}
			if plan.Status.Phase != tc.wantPhase || plan.RequeueAfter != tc.wantRequeue {
				t.Errorf("phase %s, requeue after %s; want %s, %s", plan.Status.Phase, plan.RequeueAfter, tc.wantPhase, tc.wantRequeue)
			}
			if st := plan.Status.StartTime; st == nil || !st.Time.Equal(t0) {
				t.Errorf("startTime %v: c's Pod started at t0", st)
			}
		})
	}
}

func opStatus(st popv1.AgendaStatus, name string) popv1.OperationStatus {
	for _, o := range st.Operations {
		if o.Name == name {
			return o
		}
	}
	return popv1.OperationStatus{}
}
