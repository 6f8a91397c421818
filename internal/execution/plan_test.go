package execution

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/dag"
	"github.com/pop-operator/pop/internal/podspec"
	"github.com/pop-operator/pop/test/builders"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// chain is a -> b (b reads a's output), plus an independent c.
func chain() *popv1.Agenda {
	return builders.MakeAgenda("ag", "ns").Op("a", "h", 1).Op("b", "h", "@<a.out::/v>").Op("c", "h", "x").Obj()
}

func observe(t *testing.T, ag *popv1.Agenda, handler popv1.HandlerTypeSpec, pods ...*corev1.Pod) Observed {
	t.Helper()
	g, errs := dag.Build(&ag.Spec)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	m := map[string]*corev1.Pod{}
	for _, p := range pods {
		m[p.Name] = p
	}
	return Observed{Agenda: ag, Graph: g, Handlers: map[string]*popv1.HandlerTypeSpec{"h": &handler}, Pods: m, Customer: "acme", Now: t0}
}

// withOps sets the operations' states (name -> state, attempts) in the Agenda's status.
func withOps(ag *popv1.Agenda, ops ...popv1.OperationStatus) *popv1.Agenda {
	ag.Status.Operations = ops
	return ag
}

func executing(name string, attempt int32) popv1.OperationStatus {
	return popv1.OperationStatus{Name: name, State: popv1.OperationExecuting, Attempts: attempt,
		Pod: "ag-" + name + "-" + strconv.Itoa(int(attempt)), StartTime: &metav1.Time{Time: t0.Add(-time.Minute)}}
}

func pod(name string, created time.Time, phase corev1.PodPhase, msg string, exit int32) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created),
		Labels: map[string]string{}}, Status: corev1.PodStatus{Phase: phase}}
	if phase == corev1.PodSucceeded || phase == corev1.PodFailed {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "handler", State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: exit, Message: msg}}}}
	}
	return p
}

func states(st popv1.AgendaStatus) map[string]popv1.OperationState {
	out := map[string]popv1.OperationState{}
	for _, o := range st.Operations {
		out[o.Name] = o.State
	}
	return out
}

func TestDecideLaunchesRoots(t *testing.T) {
	plan := Decide(observe(t, chain(), popv1.HandlerTypeSpec{}))
	want := []Launch{{Index: 0, Attempt: 1, Payload: []byte("1")}, {Index: 2, Attempt: 1, Payload: []byte(`"x"`)}}
	if diff := cmp.Diff(want, plan.Launch); diff != "" {
		t.Errorf("launches (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]popv1.OperationState{"a": "Executing", "b": "Waiting", "c": "Executing"}, states(plan.Status)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if plan.Status.Phase != popv1.PhaseRunning || plan.Status.Operations[0].Pod != podspec.Name(chain(), "a", 1) {
		t.Errorf("phase %s, pod %q", plan.Status.Phase, plan.Status.Operations[0].Pod)
	}
}

func TestDecideOutputFeedsDependent(t *testing.T) {
	ag := withOps(chain(), executing("a", 1), popv1.OperationStatus{Name: "b", State: popv1.OperationWaiting}, executing("c", 1))
	plan := Decide(observe(t, ag, popv1.HandlerTypeSpec{},
		pod("ag-a-1", t0, corev1.PodSucceeded, `{"v": [1, 2]}`, 0), pod("ag-c-1", t0, corev1.PodRunning, "", 0)))
	if len(plan.Launch) != 1 || string(plan.Launch[0].Payload) != "[1,2]" {
		t.Fatalf("want b launched with a's /v, got %+v", plan.Launch)
	}
	if got := plan.Status.Operations[0].Output; got != `{"v": [1, 2]}` {
		t.Errorf("a's output = %q", got)
	}
	if plan.Status.PercentComplete != 33 {
		t.Errorf("percentComplete = %d, want 33", plan.Status.PercentComplete)
	}
}

func TestDecideRetriesWithBackoffThenFails(t *testing.T) {
	h := popv1.HandlerTypeSpec{Retries: &popv1.RetrySpec{Limit: 1, Backoff: &popv1.BackoffSpec{Initial: &metav1.Duration{Duration: 4 * time.Second}}}}
	ag := withOps(chain(), executing("a", 1), popv1.OperationStatus{Name: "b", State: "Waiting"}, executing("c", 1))
	plan := Decide(observe(t, ag, h, pod("ag-a-1", t0, corev1.PodFailed, "boom", 2), pod("ag-c-1", t0, corev1.PodRunning, "", 0)))
	a := plan.Status.Operations[0]
	if a.State != popv1.OperationWaiting || a.Failures != 1 || !a.NextAttemptTime.Time.Equal(t0.Add(4*time.Second)) {
		t.Fatalf("want a waiting for a retry at +4s, got %+v", a)
	}
	if plan.RequeueAfter != 4*time.Second || len(plan.Launch) != 0 {
		t.Errorf("requeue %v, launches %v", plan.RequeueAfter, plan.Launch)
	}

	// The second attempt fails too: the limit is spent, FailFast skips b.
	ag = withOps(chain(), executing("a", 2), popv1.OperationStatus{Name: "b", State: "Waiting"}, executing("c", 1))
	ag.Status.Operations[0].Failures = 1
	plan = Decide(observe(t, ag, h, pod("ag-a-2", t0, corev1.PodFailed, "", 1), pod("ag-c-1", t0, corev1.PodRunning, "", 0)))
	if diff := cmp.Diff(map[string]popv1.OperationState{"a": "Failed", "b": "Skipped", "c": "Executing"}, states(plan.Status)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
}

func TestDecideTimeoutsDeletePods(t *testing.T) {
	h := popv1.HandlerTypeSpec{Timeout: &metav1.Duration{Duration: 30 * time.Second}, PendingTimeout: &metav1.Duration{Duration: time.Minute}}
	ag := withOps(chain(), executing("a", 1), popv1.OperationStatus{Name: "b", State: "Waiting"}, executing("c", 1))
	running := pod("ag-a-1", t0.Add(-40*time.Second), corev1.PodRunning, "", 0)
	stuck := pod("ag-c-1", t0.Add(-2*time.Minute), corev1.PodPending, "", 0)
	stuck.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "handler", State: corev1.ContainerState{
		Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "not found"}}}}
	plan := Decide(observe(t, ag, h, running, stuck))
	if diff := cmp.Diff([]string{"ag-a-1", "ag-c-1"}, plan.Delete); diff != "" {
		t.Errorf("deletes (-want +got):\n%s", diff)
	}
	if m := plan.Status.Operations[0].Message; m != "timed out after 30s" {
		t.Errorf("a's message = %q", m)
	}
	if m := plan.Status.Operations[2].Message; m != "Pod stayed Pending for 2m0s: ErrImagePull: not found" {
		t.Errorf("c's message = %q", m)
	}
}

func TestDecideAdoptsPodCreatedBeforeACrash(t *testing.T) {
	p := pod("ag-a-1", t0, corev1.PodRunning, "", 0)
	p.Labels = map[string]string{popv1.OperationLabel: "a", popv1.AttemptLabel: "1"}
	plan := Decide(observe(t, chain(), popv1.HandlerTypeSpec{}, p))
	for _, l := range plan.Launch {
		if l.Index == 0 {
			t.Fatalf("a launched a second time: %+v", plan.Launch)
		}
	}
	if a := plan.Status.Operations[0]; a.State != popv1.OperationExecuting || a.Attempts != 1 || a.Pod != "ag-a-1" {
		t.Errorf("a not adopted: %+v", a)
	}
}

func TestDecideCancel(t *testing.T) {
	ag := withOps(chain(), executing("a", 1), popv1.OperationStatus{Name: "b", State: "Waiting"}, executing("c", 1))
	ag.Spec.Cancel = true
	plan := Decide(observe(t, ag, popv1.HandlerTypeSpec{}, pod("ag-a-1", t0, corev1.PodRunning, "", 0), pod("ag-c-1", t0, corev1.PodSucceeded, "1", 0)))
	if diff := cmp.Diff([]string{"ag-a-1"}, plan.Delete); diff != "" {
		t.Errorf("deletes (-want +got):\n%s", diff)
	}
	if plan.Status.Phase != popv1.PhaseCancelled || !plan.Finished || !meta.IsStatusConditionTrue(plan.Status.Conditions, popv1.AgendaCancelled) {
		t.Errorf("want a finished, cancelled Agenda: %+v", plan.Status)
	}
	if states(plan.Status)["b"] != popv1.OperationCancelled {
		t.Errorf("b = %s", states(plan.Status)["b"])
	}
}

func TestDecideSucceeds(t *testing.T) {
	ag := withOps(chain(), popv1.OperationStatus{Name: "a", State: "Succeeded", Output: `{"v":1}`},
		executing("b", 1), popv1.OperationStatus{Name: "c", State: "Succeeded"})
	plan := Decide(observe(t, ag, popv1.HandlerTypeSpec{}, pod("ag-b-1", t0, corev1.PodSucceeded, "", 0)))
	if plan.Status.Phase != popv1.PhaseSucceeded || !plan.Finished || plan.Status.PercentComplete != 100 {
		t.Errorf("want Succeeded at 100%%: %+v", plan.Status)
	}
	if plan.Status.Operations[1].Output != "null" {
		t.Errorf("empty output should be null, got %q", plan.Status.Operations[1].Output)
	}
}

func TestBackoff(t *testing.T) {
	h := &popv1.HandlerTypeSpec{Retries: &popv1.RetrySpec{Backoff: &popv1.BackoffSpec{
		Initial: &metav1.Duration{Duration: time.Second}, Factor: 3, Max: &metav1.Duration{Duration: 10 * time.Second}}}}
	got := []time.Duration{backoff(h, 1), backoff(h, 2), backoff(h, 3), backoff(h, 50)}
	if diff := cmp.Diff([]time.Duration{time.Second, 3 * time.Second, 9 * time.Second, 10 * time.Second}, got); diff != "" {
		t.Errorf("backoff (-want +got):\n%s", diff)
	}
	if backoff(&popv1.HandlerTypeSpec{}, 1) != 10*time.Second {
		t.Error("default initial backoff is 10s")
	}
	if retryLimit(&popv1.Operation{Retries: ptr.To[int32](4)}, h) != 4 {
		t.Error("operation retries override the HandlerType's")
	}
}

func TestDecideEvictedPodIsAFailedAttempt(t *testing.T) {
	ag := withOps(chain(), executing("a", 1), popv1.OperationStatus{Name: "b", State: "Waiting"}, executing("c", 1))
	evicted := pod("ag-a-1", t0, corev1.PodFailed, "", 0)
	evicted.Status.ContainerStatuses = nil
	evicted.Status.Reason, evicted.Status.Message = "Evicted", "The node was low on resource: memory."
	plan := Decide(observe(t, ag, popv1.HandlerTypeSpec{}, evicted, pod("ag-c-1", t0, corev1.PodRunning, "", 0)))
	a := plan.Status.Operations[0]
	if a.State != popv1.OperationFailed || a.Message != "Pod failed: Evicted: The node was low on resource: memory." {
		t.Errorf("a = %+v", a)
	}
}
