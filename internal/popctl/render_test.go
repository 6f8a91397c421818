package popctl

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) *metav1.Time { return &metav1.Time{Time: t0.Add(d)} }

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs:\n--- want\n%s\n--- got\n%s", name, want, got)
	}
}

func runningAgenda() *popv1.Agenda {
	ag := builders.MakeAgenda("publish", "acme").
		Op("probe", "sample").Op("thumb", "echo", "@<probe.out>").Op("hash", "hash").DependsOn("probe").
		Op("publish", "echo", map[string]any{"t": "@<thumb.out>", "h": "@<hash.out>"}).Obj()
	ag.CreationTimestamp = metav1.Time{Time: t0.Add(-90 * time.Second)}
	ag.Status = popv1.AgendaStatus{Phase: popv1.PhaseRunning, PercentComplete: 45, Insight: "pop-system/standard",
		Operations: []popv1.OperationStatus{
			{Name: "probe", State: popv1.OperationSucceeded, Attempts: 1, StartTime: at(-80 * time.Second), CompletionTime: at(-70 * time.Second)},
			{Name: "thumb", State: popv1.OperationExecuting, Attempts: 1, Progress: 40, StartTime: at(-30 * time.Second)},
			{Name: "hash", State: popv1.OperationWaiting, Attempts: 1, Failures: 1, Message: "attempt 1 failed: handler exited with code 2; retry 1 of 2"},
			{Name: "publish", State: popv1.OperationWaiting},
		}}
	return ag
}

func TestRenderTree(t *testing.T) {
	var buf bytes.Buffer
	if err := RenderTree(&buf, runningAgenda(), t0); err != nil {
		t.Fatal(err)
	}
	golden(t, "tree.txt", buf.Bytes())
}

// fanOutAgenda is scan -> encode over 12 segments (one failed, one retrying) -> join, a
// when-false notify and a finally report.
func fanOutAgenda() *popv1.Agenda {
	w := builders.MakeAgenda("segments", "acme").FailurePolicy(popv1.ContinueIndependent).
		Op("scan", "sample").Op("encode", "echo", "@<item>").ForEach("@<scan.out::/segments>").
		Op("join", "echo", "@<encode.out>").Op("notify", "echo").When("false").
		Op("report", "echo", "@<pop.phase>").FinallyOp()
	ag := w.Obj()
	ag.CreationTimestamp = metav1.Time{Time: t0.Add(-90 * time.Second)}
	ops := []popv1.OperationStatus{
		{Name: "scan", State: popv1.OperationSucceeded, Attempts: 1, StartTime: at(-80 * time.Second), CompletionTime: at(-70 * time.Second)},
		{Name: "encode", State: popv1.OperationExecuting, Progress: 66, StartTime: at(-70 * time.Second),
			Message: "fan-out over 12 items: 1 Executing, 1 Failed, 9 Succeeded, 1 Waiting"},
		{Name: "join", State: popv1.OperationWaiting},
		{Name: "notify", State: popv1.OperationSkipped, CompletionTime: at(-60 * time.Second), Message: "skipped: its when condition is false"},
		{Name: "report", State: popv1.OperationWaiting},
	}
	for i := range 12 {
		o := popv1.OperationStatus{Name: fmt.Sprintf("encode[%d]", i), State: popv1.OperationSucceeded, Attempts: 1,
			StartTime: at(-70 * time.Second), CompletionTime: at(-50 * time.Second)}
		switch i {
		case 2:
			o.State, o.Attempts, o.Failures, o.Message = popv1.OperationWaiting, 1, 1, "attempt 1 failed: handler exited with code 1; retry 1 of 2"
		case 10:
			o.State, o.CompletionTime, o.Progress = popv1.OperationExecuting, nil, 50
		case 11:
			o.State, o.Message = popv1.OperationFailed, "handler exited with code 3: bad segment"
		}
		ops = append(ops, o)
	}
	ag.Status = popv1.AgendaStatus{Phase: popv1.PhaseRunning, PercentComplete: 60, Insight: "pop-system/standard", Operations: ops}
	return ag
}

func TestRenderTreeFanOut(t *testing.T) {
	var buf bytes.Buffer
	if err := RenderTree(&buf, fanOutAgenda(), t0); err != nil {
		t.Fatal(err)
	}
	golden(t, "tree-fanout.txt", buf.Bytes())
}

func TestRenderList(t *testing.T) {
	done := runningAgenda()
	done.Name, done.Status.Phase, done.Status.PercentComplete = "older", popv1.PhaseSucceeded, 100
	done.CreationTimestamp = metav1.Time{Time: t0.Add(-3 * time.Hour)}
	for i := range done.Status.Operations {
		done.Status.Operations[i].State = popv1.OperationSucceeded
	}
	var buf bytes.Buffer
	if err := RenderList(&buf, []popv1.Agenda{*runningAgenda(), *done}, t0); err != nil {
		t.Fatal(err)
	}
	golden(t, "list.txt", buf.Bytes())
}

func TestRenderQueue(t *testing.T) {
	ins := builders.MakeInsight("batch", "pop-system").Algorithm(popv1.Fairness).Capacity(2).Obj()
	ins.Status = popv1.InsightStatus{Admitted: 2, Pending: 5, Head: []popv1.PendingAgenda{
		{Namespace: "acme", Name: "a1", Position: 1, Since: at(-5 * time.Minute)},
		{Namespace: "globex", Name: "g1", Position: 2, Since: at(-40 * time.Second)},
	}}
	ins.Spec.Capacity = ptr.To[int32](2)
	var buf bytes.Buffer
	if err := RenderQueue(&buf, ins, t0); err != nil {
		t.Fatal(err)
	}
	golden(t, "queue.txt", buf.Bytes())
}
