package execution

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/dag"
	"github.com/pop-operator/pop/internal/podspec"
	"github.com/pop-operator/pop/test/builders"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// chain is a -> b (b reads a's output), plus an independent c, admitted a minute before t0.
func chain() *popv1.Agenda { return admitted(chainSpec()).Obj() }

// chainSpec is chain before the controller or the scheduler wrote any status.
func chainSpec() *builders.AgendaWrapper {
	return builders.MakeAgenda("ag", "ns").UID("uid-ag").Generation(1).
		Op("a", "h", 1).Op("b", "h", "@<a.out::/v>").Op("c", "h", "x")
}

// admitted is what the Agenda controller and the scheduler write before a first run.
func admitted(w *builders.AgendaWrapper) *builders.AgendaWrapper {
	return w.Accepted().Admitted("ns/fifo", t0.Add(-time.Minute))
}

// observe is what the controller sees of an admitted Agenda: its Pods and one HandlerType h.
// An Agenda not admitted yet is admitted first, as the scheduler would.
func observe(t *testing.T, ag *popv1.Agenda, handler popv1.HandlerTypeSpec, pods ...*corev1.Pod) Observed {
	t.Helper()
	if !popv1.IsAdmitted(ag) {
		ag = admitted(&builders.AgendaWrapper{Agenda: *ag}).Obj()
	}
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

// withOps sets the operations' states in the Agenda's status.
func withOps(ag *popv1.Agenda, ops ...popv1.OperationStatus) *popv1.Agenda {
	ag.Status.Operations = ops
	return ag
}

// executing is an operation whose first attempt's Pod, ag-<name>-1, started a minute
// before t0.
func executing(name string) popv1.OperationStatus {
	return builders.OpStatus(name, popv1.OperationExecuting).Attempt(1, "ag-"+name+"-1").StartedAt(t0.Add(-time.Minute)).Obj()
}

// podName is the name the controller gives the Pod of operation op's first attempt.
func podName(op string) string { return podspec.Name(chain(), op, 1) }

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

func TestTTLExpiry(t *testing.T) {
	done := func(w *builders.AgendaWrapper) *builders.AgendaWrapper {
		return w.Condition(popv1.AgendaSucceeded, true, popv1.ReasonAllOperationsSucceed, "").CompletedAt(t0)
	}
	tests := map[string]struct {
		ag     *popv1.Agenda
		want   time.Time
		wantOK bool
	}{
		"finished with a TTL: its completion plus the TTL": {ag: done(chainSpec().TTL(30)).Obj(), want: t0.Add(30 * time.Second), wantOK: true},
		"finished without a TTL: kept":                     {ag: done(chainSpec()).Obj()},
		"not finished: no TTL runs yet":                    {ag: chainSpec().TTL(30).CompletedAt(t0).Obj()},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := TTLExpiry(tc.ag)
			if !got.Equal(tc.want) || ok != tc.wantOK {
				t.Errorf("TTLExpiry = %v, %v; want %v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// TestPhaseIsDerivedFromConditions: the phase follows the conditions alone, whichever step
// of the planner set them.
func TestPhaseIsDerivedFromConditions(t *testing.T) {
	tests := map[string]struct {
		ag   *builders.AgendaWrapper
		want popv1.AgendaPhase
	}{
		"nothing yet":                 {ag: chainSpec(), want: popv1.PhasePending},
		"accepted":                    {ag: chainSpec().Accepted(), want: popv1.PhasePending},
		"queued":                      {ag: chainSpec().Accepted().Condition(popv1.AgendaQueued, true, "", ""), want: popv1.PhaseQueued},
		"admitted":                    {ag: admitted(chainSpec()), want: popv1.PhaseRunning},
		"invalid":                     {ag: chainSpec().Condition(popv1.AgendaAccepted, false, popv1.ReasonInvalidSpec, ""), want: popv1.PhaseInvalid},
		"succeeded":                   {ag: admitted(chainSpec()).Condition(popv1.AgendaSucceeded, true, "", ""), want: popv1.PhaseSucceeded},
		"failed":                      {ag: admitted(chainSpec()).Condition(popv1.AgendaFailed, true, "", ""), want: popv1.PhaseFailed},
		"cancelled (Failed too)":      {ag: chainSpec().Condition(popv1.AgendaFailed, true, "", "").Condition(popv1.AgendaCancelled, true, "", ""), want: popv1.PhaseCancelled},
		"invalid, then cancelled":     {ag: chainSpec().Condition(popv1.AgendaAccepted, false, popv1.ReasonInvalidSpec, "").Condition(popv1.AgendaFailed, true, "", "").Condition(popv1.AgendaCancelled, true, "", ""), want: popv1.PhaseCancelled},
		"sent back to its queue":      {ag: chainSpec().Accepted().Condition(popv1.AgendaAdmitted, false, popv1.ReasonRerunRequested, ""), want: popv1.PhasePending},
		"missing HandlerType, queued": {ag: chainSpec().Condition(popv1.AgendaAccepted, false, popv1.ReasonHandlerTypeMissing, "").Condition(popv1.AgendaQueued, true, "", ""), want: popv1.PhaseQueued},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := phaseOf(&tc.ag.Obj().Status); got != tc.want {
				t.Errorf("phase %s, want %s", got, tc.want)
			}
		})
	}
}
