package execution

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/dag"
	"github.com/pop-operator/pop/internal/podspec"
	"github.com/pop-operator/pop/test/builders"
)

// fanRun drives the planner reconcile by reconcile as the controller would: the status it
// plans is stored, the Pods it launches exist (Running) with their payloads, the Pods it
// deletes are gone. Tests end Pods with done.
type fanRun struct {
	t        *testing.T
	ag       *popv1.Agenda
	graph    *dag.Graph
	pods     map[string]*corev1.Pod
	payloads map[string]string // by operation name, the last launch's
	now      time.Time
	maxLive  int
	// insightDefault is the admitting Insight's defaultParallelism.
	insightDefault *int32
}

func newFanRun(t *testing.T, w *builders.AgendaWrapper) *fanRun {
	t.Helper()
	ag := admitted(w.UID("uid-ag").Generation(1)).Obj()
	g, errs := dag.Build(&ag.Spec)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return &fanRun{t: t, ag: ag, graph: g, pods: map[string]*corev1.Pod{}, payloads: map[string]string{}, now: t0}
}

// step runs one reconcile and returns its plan.
func (r *fanRun) step() Plan {
	r.t.Helper()
	obs := Observed{Agenda: r.ag, Graph: r.graph, Handlers: map[string]*popv1.HandlerTypeSpec{"h": {Outputs: &popv1.OutputSpec{MaxBytes: 4096}}},
		Pods: r.pods, Customer: "acme", Now: r.now, DefaultParallelism: r.insightDefault}
	plan := Decide(obs)
	for _, name := range plan.Delete {
		delete(r.pods, name)
	}
	for _, l := range plan.Launch {
		o := plan.Status.Operations[l.Index]
		op := OperationOf(r.ag, plan.Status.Operations, l.Index)
		if op.Name != o.Name {
			r.t.Fatalf("launch %d runs %s, its entry is %s", l.Index, op.Name, o.Name)
		}
		r.pods[o.Pod] = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: o.Pod, CreationTimestamp: metav1.NewTime(r.now),
			Labels: map[string]string{popv1.OperationLabel: podspec.OperationLabelValue(o.Name), popv1.AttemptLabel: fmt.Sprint(l.Attempt)}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning}}
		r.payloads[o.Name] = string(l.Payload)
	}
	r.ag = r.ag.DeepCopy()
	r.ag.Status = plan.Status
	live := 0
	for _, p := range r.pods {
		if p.Status.Phase == corev1.PodRunning {
			live++
		}
	}
	r.maxLive = max(r.maxLive, live)
	return plan
}

// done ends the running Pod of operation name: Succeeded with output, or Failed (exit 1).
func (r *fanRun) done(name string, ok bool, output string) {
	r.t.Helper()
	s := r.status(name)
	p := r.pods[s.Pod]
	if p == nil || p.Status.Phase != corev1.PodRunning {
		r.t.Fatalf("%s has no running Pod (%+v)", name, s)
	}
	exit := int32(0)
	p.Status.Phase = corev1.PodSucceeded
	if !ok {
		p.Status.Phase, exit = corev1.PodFailed, 1
	}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "handler", State: corev1.ContainerState{
		Terminated: &corev1.ContainerStateTerminated{ExitCode: exit, Message: output}}}}
}

func (r *fanRun) status(name string) popv1.OperationStatus {
	for _, o := range r.ag.Status.Operations {
		if o.Name == name {
			return o
		}
	}
	r.t.Fatalf("no status entry %s in %v", name, names(r.ag.Status.Operations))
	return popv1.OperationStatus{}
}

func (r *fanRun) state(name string) popv1.OperationState { return r.status(name).State }

func names(ops []popv1.OperationStatus) []string {
	out := make([]string, len(ops))
	for i, o := range ops {
		out[i] = o.Name
	}
	return out
}

// scanFan is scan -> encode (forEach over scan's segments) -> join (reads encode's output).
func scanFan() *builders.AgendaWrapper {
	return builders.MakeAgenda("ag", "ns").
		Op("scan", "h").
		Op("encode", "h", map[string]any{"seg": "@<item::/uri>", "i": "@<pop.index>", "name": "@<pop.operationName>"}).
		ForEach("@<scan.out::/segments>").
		Op("join", "h", "@<encode.out>")
}

func TestFanOutOverAnOutput(t *testing.T) {
	r := newFanRun(t, scanFan())
	r.step()
	r.done("scan", true, `{"segments":[{"uri":"s0"},{"uri":"s1"},{"uri":"s2"}]}`)
	plan := r.step()
	if got := names(r.ag.Status.Operations); strings.Join(got, ",") != "scan,encode,join,encode[0],encode[1],encode[2]" {
		t.Fatalf("status entries %v: want the spec's, then encode[0..2]", got)
	}
	if len(plan.Launch) != 3 || r.state("encode") != popv1.OperationExecuting {
		t.Fatalf("launched %d, encode %s: want the 3 items started, the group Executing", len(plan.Launch), r.state("encode"))
	}
	if got := r.payloads["encode[1]"]; got != `{"i":1,"name":"encode[1]","seg":"s1"}` {
		t.Errorf("encode[1]'s payload = %s", got)
	}
	r.done("encode[2]", true, `"c"`)
	r.done("encode[0]", true, `"a"`)
	r.step()
	if r.state("encode") != popv1.OperationExecuting || r.state("join") != popv1.OperationWaiting {
		t.Fatalf("one item still runs: encode %s, join %s", r.state("encode"), r.state("join"))
	}
	if msg := r.status("encode").Message; msg != "fan-out over 3 items: 1 Executing, 2 Succeeded" {
		t.Errorf("group message %q", msg)
	}
	r.done("encode[1]", true, `{"b":1}`)
	r.step()
	if r.state("encode") != popv1.OperationSucceeded || r.payloads["join"] != `["a",{"b":1},"c"]` {
		t.Fatalf("encode %s, join's payload %s: want Succeeded and the outputs in item order", r.state("encode"), r.payloads["join"])
	}
	r.done("join", true, "")
	r.step()
	if r.ag.Status.Phase != popv1.PhaseSucceeded {
		t.Errorf("phase %s, want Succeeded", r.ag.Status.Phase)
	}
}

func TestFanOutRules(t *testing.T) {
	tests := map[string]struct {
		agenda    *builders.AgendaWrapper
		scanOut   string
		wantGroup popv1.OperationState
		wantMsg   string
		wantJoin  popv1.OperationState
		wantJoinP string
	}{
		"an empty array: the group succeeds with [] in the same pass": {
			agenda: scanFan(), scanOut: `{"segments":[]}`,
			wantGroup: popv1.OperationSucceeded, wantMsg: "fan-out over 0 items", wantJoin: popv1.OperationExecuting, wantJoinP: `[]`,
		},
		"not an array: the group fails saying so, join is skipped": {
			agenda: scanFan(), scanOut: `{"segments":"s0,s1"}`,
			wantGroup: popv1.OperationFailed, wantMsg: "forEach: forEach must be a JSON array, got a string", wantJoin: popv1.OperationSkipped,
		},
		"a missing pointer: the group fails": {
			agenda: scanFan(), scanOut: `{}`,
			wantGroup: popv1.OperationFailed, wantMsg: "forEach: @<scan.out::/segments>: /segments not found in scan.out (add ? to make it optional)", wantJoin: popv1.OperationSkipped,
		},
		"over fanout.MaxItems: the group fails with the bound": {
			// more items than an output may hold (maxBytes): the array comes from the params
			agenda: builders.MakeAgenda("ag", "ns").Params(map[string]any{"segments": make([]any, 10001)}).
				Op("scan", "h").
				Op("encode", "h", "@<item>").ForEach("@<agenda.params::/segments>").DependsOn("scan").
				Op("join", "h", "@<encode.out>"),
			scanOut:   `{}`,
			wantGroup: popv1.OperationFailed, wantMsg: "forEach: forEach has 10001 items; at most 10000", wantJoin: popv1.OperationSkipped,
		},
		"a when false on the group: Skipped once, no item, join skipped": {
			agenda: builders.MakeAgenda("ag", "ns").Op("scan", "h").
				Op("encode", "h", "@<item>").ForEach("@<scan.out::/segments>").When("ops.scan.output.go").Op("join", "h", "@<encode.out>"),
			scanOut:   `{"go":false,"segments":[1,2]}`,
			wantGroup: popv1.OperationSkipped, wantMsg: skippedByWhen, wantJoin: popv1.OperationSkipped,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := newFanRun(t, tc.agenda)
			r.step()
			r.done("scan", true, tc.scanOut)
			r.step()
			if s := r.status("encode"); s.State != tc.wantGroup || s.Message != tc.wantMsg {
				t.Errorf("encode = %s %q, want %s %q", s.State, s.Message, tc.wantGroup, tc.wantMsg)
			}
			if got := len(r.ag.Status.Operations); got != 3 {
				t.Errorf("%d status entries, want 3 (no item generated)", got)
			}
			if r.state("join") != tc.wantJoin || r.payloads["join"] != tc.wantJoinP {
				t.Errorf("join %s with payload %q, want %s %q", r.state("join"), r.payloads["join"], tc.wantJoin, tc.wantJoinP)
			}
		})
	}
}

func TestFanOutParallelism(t *testing.T) {
	three, five := int32(3), int32(5)
	for name, tc := range map[string]struct {
		spec, insight *int32
		want          int
	}{
		"spec.parallelism 3":                                {spec: &three, want: 3},
		"the Insight's defaultParallelism 3":                {insight: &three, want: 3},
		"spec.parallelism 5 wins over the Insight's 3":      {spec: &five, insight: &three, want: 5},
		"neither: all 20 items and the other operation run": {want: 21},
	} {
		t.Run(name, func(t *testing.T) {
			items := make([]any, 20)
			for i := range items {
				items[i] = i
			}
			w := builders.MakeAgenda("ag", "ns").Op("solo", "h").Op("encode", "h", "@<item>").ForEach(items)
			w.Spec.Parallelism = tc.spec
			r := newFanRun(t, w)
			r.insightDefault = tc.insight
			for steps := 0; r.ag.Status.Phase != popv1.PhaseSucceeded; steps++ {
				if steps > 100 {
					t.Fatalf("not done after 100 passes: %s", r.status("encode").Message)
				}
				r.step()
				for _, o := range r.ag.Status.Operations { // end one running Pod per pass
					if o.State == popv1.OperationExecuting && o.Pod != "" {
						r.done(o.Name, true, fmt.Sprintf("%q", o.Name))
						break
					}
				}
			}
			if r.maxLive != tc.want {
				t.Errorf("at most %d Pods ran at once, want %d reached and never passed", r.maxLive, tc.want)
			}
		})
	}
}

func TestFanOutItemFailure(t *testing.T) {
	for name, tc := range map[string]struct {
		policy     popv1.FailurePolicy
		wantOthers popv1.OperationState
	}{
		"FailFast: the waiting items are skipped, the group fails": {policy: popv1.FailFast, wantOthers: popv1.OperationSkipped},
		"ContinueIndependent: the other items run, the group fails once they end": {
			policy: popv1.ContinueIndependent, wantOthers: popv1.OperationSucceeded,
		},
	} {
		t.Run(name, func(t *testing.T) {
			w := builders.MakeAgenda("ag", "ns").Parallelism(1).FailurePolicy(tc.policy).
				Op("encode", "h", "@<item>").ForEach([]any{"a", "b", "c", "d"}).
				Op("report", "h", map[string]any{"phase": "@<pop.phase>", "failed": "@<pop.failed>"}).FinallyOp()
			one := int32(1)
			w.Spec.Operations[0].Retries = &one
			r := newFanRun(t, w)
			r.step()
			r.done("encode[0]", false, "")
			r.step()
			if s := r.status("encode[0]"); s.State != popv1.OperationWaiting || s.Failures != 1 {
				t.Fatalf("encode[0] = %s after %d failures, want a retry waiting", s.State, s.Failures)
			}
			// A retry waiting for its backoff holds its parallelism slot: encode[1] waits.
			if s := r.status("encode[1]"); s.State != popv1.OperationWaiting || s.Pod != "" {
				t.Fatalf("encode[1] = %s (Pod %q) while encode[0] waits for its retry, want Waiting", s.State, s.Pod)
			}
			r.now = r.now.Add(time.Minute)
			r.step()
			r.done("encode[0]", false, "")
			r.step()
			for _, n := range []string{"encode[1]", "encode[2]", "encode[3]"} {
				if r.state(n) == popv1.OperationExecuting {
					r.done(n, true, `"x"`)
					r.step()
				}
			}
			want := "1 of 4 items failed; encode[0]: handler exited with code 1"
			if s := r.status("encode"); s.State != popv1.OperationFailed || s.Message != want {
				t.Errorf("encode = %s %q, want Failed %q", s.State, s.Message, want)
			}
			if r.state("encode[3]") != tc.wantOthers || r.status("encode[0]").Attempts != 2 {
				t.Errorf("encode[3] = %s, want %s; encode[0] made %d attempts, want 2", r.state("encode[3]"), tc.wantOthers, r.status("encode[0]").Attempts)
			}
			if want := `{"failed":["encode","encode[0]"],"phase":"Failed"}`; r.payloads["report"] != want {
				t.Errorf("the finally operation's payload = %s, want %s", r.payloads["report"], want)
			}
			r.done("report", true, "")
			r.step()
			if r.ag.Status.Phase != popv1.PhaseFailed {
				t.Errorf("phase %s, want Failed", r.ag.Status.Phase)
			}
		})
	}
}

func TestFinallySeesSucceededPhase(t *testing.T) {
	r := newFanRun(t, builders.MakeAgenda("ag", "ns").Op("a", "h").
		Op("report", "h", "phase @<pop.phase>, failed @<pop.failed::/0?none>").FinallyOp())
	r.step()
	r.done("a", true, "")
	r.step()
	if got := r.payloads["report"]; got != `"phase Succeeded, failed none"` {
		t.Errorf("report's payload = %s", got)
	}
}

func TestFanOutCancel(t *testing.T) {
	r := newFanRun(t, builders.MakeAgenda("ag", "ns").Op("encode", "h", "@<item>").ForEach([]any{1, 2, 3}).Op("join", "h", "@<encode.out>"))
	r.step()
	r.done("encode[0]", true, "1")
	r.step()
	r.ag.Spec.Cancel = true
	plan := r.step()
	if len(plan.Delete) != 2 {
		t.Errorf("deleted %v, want the two running items' Pods", plan.Delete)
	}
	for _, n := range []string{"encode", "encode[1]", "encode[2]", "join"} {
		if r.state(n) != popv1.OperationCancelled {
			t.Errorf("%s = %s, want Cancelled", n, r.state(n))
		}
	}
	if r.state("encode[0]") != popv1.OperationSucceeded || r.ag.Status.Phase != popv1.PhaseCancelled {
		t.Errorf("encode[0] %s, phase %s", r.state("encode[0]"), r.ag.Status.Phase)
	}
}

func TestFanOutBoundPerAgenda(t *testing.T) {
	r := newFanRun(t, builders.MakeAgenda("ag", "ns").Params(map[string]any{"a": make([]any, 6000), "b": make([]any, 6000)}).
		Op("one", "h").ForEach("@<agenda.params::/a>").Op("two", "h").ForEach("@<agenda.params::/b>").DependsOn("one"))
	r.step()
	if n := len(r.ag.Status.Operations); n != 6002 {
		t.Fatalf("%d entries, want 6002", n)
	}
	for r.state("one") == popv1.OperationExecuting { // MaxParallelism at a time
		for k := 2; k < 6002; k++ {
			if o := r.ag.Status.Operations[k]; o.State == popv1.OperationExecuting {
				r.done(o.Name, true, "")
			}
		}
		r.step()
	}
	want := "forEach: 6000 items would make 12000 generated operations in this Agenda; at most 10000"
	if s := r.status("two"); s.State != popv1.OperationFailed || s.Message != want {
		t.Errorf("two = %s %q, want Failed %q", s.State, s.Message, want)
	}
}

func TestFanOutAdoptsAnItemPod(t *testing.T) {
	r := newFanRun(t, builders.MakeAgenda("ag", "ns").Op("encode", "h", "@<item>").ForEach([]any{1, 2}))
	r.step()
	stored := r.ag.DeepCopy()
	r.done("encode[1]", true, `"two"`)
	// The Pods of a second attempt of encode[1] exist, its status does not say so: adopted.
	again := r.pods[r.status("encode[1]").Pod].DeepCopy()
	again.Name, again.Labels[popv1.AttemptLabel] = podspec.Name(r.ag, "encode[1]", 2), "2"
	again.Status = corev1.PodStatus{Phase: corev1.PodRunning}
	r.pods[again.Name] = again
	r.ag = stored
	r.step()
	if s := r.status("encode[1]"); s.Attempts != 2 || s.Pod != again.Name || s.State != popv1.OperationExecuting {
		t.Errorf("encode[1] = %+v, want attempt 2 adopted", s)
	}
}

func TestFanOutRerunFromFailure(t *testing.T) {
	w := builders.MakeAgenda("ag", "ns").Op("encode", "h", "@<item>").ForEach([]any{"a", "b", "c"}).Op("join", "h", "@<encode.out>")
	r := newFanRun(t, w)
	r.step()
	r.done("encode[0]", true, `"A"`)
	r.done("encode[1]", false, "")
	r.done("encode[2]", true, `"C"`)
	r.step()
	if r.ag.Status.Phase != popv1.PhaseFailed {
		t.Fatalf("phase %s, want Failed", r.ag.Status.Phase)
	}
	r.ag.Spec.Rerun = &popv1.RerunSpec{ID: "1", Mode: popv1.RerunFromFailure}
	r.step() // back to the queue
	if s := r.status("encode[0]"); s.State != popv1.OperationSucceeded {
		t.Errorf("encode[0] = %s, want its success kept", s.State)
	}
	if s := r.status("encode[1]"); s.State != popv1.OperationWaiting || s.Attempts != 1 {
		t.Errorf("encode[1] = %s after %d attempts, want Waiting, attempts kept", s.State, s.Attempts)
	}
	r.ag = admitted(&builders.AgendaWrapper{Agenda: *r.ag}).Obj()
	plan := r.step()
	if len(plan.Launch) != 1 || r.status("encode[1]").Attempts != 2 {
		t.Fatalf("launched %d, encode[1] attempts %d: want only encode[1] again, as attempt 2", len(plan.Launch), r.status("encode[1]").Attempts)
	}
	r.done("encode[1]", true, `"B"`)
	r.step()
	if r.payloads["join"] != `["A","B","C"]` {
		t.Errorf("join's payload %s", r.payloads["join"])
	}
}
