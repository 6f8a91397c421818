// Package objectsize measures how large an Agenda's stored JSON and its OperationShards grow
// with its operations and outputs under the status layout (issue 14, docs/status-layout.md),
// and the old layout's size beside it. docs/status-layout.md's figures come from this test:
//
//	go test ./test/objectsize/ -run TestAgendaSize -v
package objectsize

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/archive"
	"github.com/pop-operator/pop/internal/execution"
)

// etcdRequestLimit is etcd's default --max-request-bytes, the bound one object write must
// stay under (the API server adds its own overhead on top).
const etcdRequestLimit = 1.5 * 1024 * 1024

// output makes an operation output of n bytes of JSON: plain text, or an object dense in
// quotes (each of which the status stores escaped, as \").
func output(n int, quoted bool) string {
	if !quoted {
		return `"` + strings.Repeat("x", n-2) + `"`
	}
	var b strings.Builder
	b.WriteString("{")
	for i := 0; b.Len() < n-12; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"k%d":"v"`, i%1000)
	}
	b.WriteString("}")
	return b.String()
}

// succeededAgenda is an Agenda of n succeeded operations in a chain, each with a typical
// payload and the given output, its status as the controller leaves it.
func succeededAgenda(n int, out string) *popv1.Agenda {
	now := metav1.NewTime(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	ag := &popv1.Agenda{
		TypeMeta:   metav1.TypeMeta{APIVersion: popv1.GroupVersion.String(), Kind: "Agenda"},
		ObjectMeta: metav1.ObjectMeta{Name: "render-2026-12-01", Namespace: "customer-a", UID: "0f6c8d9e-3b1a-4c2d-9e8f-7a6b5c4d3e2f", ResourceVersion: "123456", Generation: 1, CreationTimestamp: now},
	}
	ag.Spec.Priority = 5
	ag.Status.Phase = popv1.PhaseSucceeded
	ag.Status.PercentComplete = 100
	for i := range n {
		name := fmt.Sprintf("encode-%04d", i)
		payload := fmt.Sprintf(`{"input":"@<encode-%04d.out::/path>","bitrate":800,"codec":"h264"}`, max(i-1, 0))
		ag.Spec.Operations = append(ag.Spec.Operations, popv1.Operation{
			Name: name, Type: "ffmpeg", Payload: &apiextensionsv1.JSON{Raw: []byte(payload)}, Retries: ptr.To[int32](2),
		})
		ag.Status.Operations = append(ag.Status.Operations, popv1.OperationStatus{
			Name: name, State: popv1.OperationSucceeded, Attempts: 1, Pod: fmt.Sprintf("render-2026-12-01-%s-3f2a1b0c-1", name),
			StartTime: &now, CompletionTime: &now, Progress: 100, Output: out,
		})
	}
	return ag
}

// Bounds docs/status-layout.md states.
const (
	agendaBound = 1.25 * 1024 * 1024 // spec (≤ MaxSpecBytes) and status: under etcd's limit with room for metadata
	shardBound  = 128 * 1024
)

// compacted is the stored form of an Agenda whose whole list is the status succeededAgenda
// made: the Agenda as stored and its shards, as the controller writes them.
func compacted(ag *popv1.Agenda) (*popv1.Agenda, []*popv1.OperationShard) {
	seals, live := archive.Compact(ag.Status.Operations, archive.Archive{})
	stored := ag.DeepCopy()
	stored.Status.Counts = archive.Count(ag.Status.Operations)
	stored.Status.Operations = live
	var shards []*popv1.OperationShard
	for i, seal := range seals {
		shards = append(shards, archive.NewShard(ag, int32(i), seal))
	}
	stored.Status.Shards = int32(len(shards))
	return stored, shards
}

func jsonSize(t *testing.T, v any) int {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// TestAgendaSize prints the stored JSON size (without managedFields) of 1,000-operation
// Agendas with the status layout, the old layout beside it, and asserts the bounds: the
// Agenda and every shard stay under them whatever the outputs.
func TestAgendaSize(t *testing.T) {
	for _, tc := range []struct {
		name       string
		ops, bytes int
		quoted     bool
	}{
		{"1,000 operations, 100 B outputs", 1000, 100, false},
		{"1,000 operations, 1 KiB plain outputs", 1000, 1024, false},
		{"1,000 operations, 1 KiB outputs dense in quotes", 1000, 1024, true},
		{"1,000 operations, 4 KiB outputs (the bound)", 1000, 4096, false},
		{"1,000 operations, 4 KiB outputs dense in quotes", 1000, 4096, true},
	} {
		whole := succeededAgenda(tc.ops, output(tc.bytes, tc.quoted))
		stored, shards := compacted(whole)
		largest := 0
		for _, sh := range shards {
			largest = max(largest, jsonSize(t, sh))
		}
		n := jsonSize(t, stored)
		t.Logf("%-50s Agenda %7.3f MB, %3d shards, largest %6.1f KB (old layout: %.2f MB)", tc.name,
			float64(n)/1e6, len(shards), float64(largest)/1e3, float64(jsonSize(t, whole))/1e6)
		if n > agendaBound || largest > shardBound {
			t.Errorf("%s: Agenda %d bytes (bound %d), largest shard %d (bound %d)", tc.name, n, int(agendaBound), largest, shardBound)
		}
	}
}

// TestWorstCaseAgenda builds the largest Agenda the bounds allow — a spec of MaxSpecBytes,
// MaxParallelism operations in progress each with the longest names, every time set and a
// message at MaxWaitingMessage, finished entries just under the seal with one at 4 KiB dense
// in quotes, a fan-out entry, 16 conditions with 1 KiB messages — and checks it stays under
// agendaBound. This, not a guess, is where the documented bound comes from.
func TestWorstCaseAgenda(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	micro := metav1.NewMicroTime(now.Time)
	ag := succeededAgenda(1, "")
	ag.Name = strings.Repeat("a", 253)
	pad := popv1.MaxSpecBytes - jsonSize(t, ag.Spec) - len(`,"params":""`)
	ag.Spec.Params = &apiextensionsv1.JSON{Raw: []byte(`"` + strings.Repeat("p", pad-2) + `"`)}
	if got := jsonSize(t, ag.Spec); got > popv1.MaxSpecBytes {
		t.Fatalf("the spec is %d bytes, over MaxSpecBytes", got)
	}
	name := func(i int) string { return fmt.Sprintf("%s[%d]", strings.Repeat("n", 63), i) }
	ag.Status.Operations = nil
	for i := range popv1.MaxParallelism {
		ag.Status.Operations = append(ag.Status.Operations, popv1.OperationStatus{
			Name: name(i), State: popv1.OperationWaiting, Attempts: 100, Failures: 100, Pod: strings.Repeat("p", 63),
			StartTime: &now, NextAttemptTime: &micro, BlockedSince: &now, Progress: 100,
			Message: strings.Repeat("m", execution.MaxWaitingMessage), Items: 10000,
		})
	}
	finished := 0
	for i := 0; finished < popv1.ShardSealBytes; i++ {
		o := popv1.OperationStatus{Name: name(popv1.MaxParallelism + i), State: popv1.OperationFailed, Attempts: 100, Failures: 100,
			Pod: strings.Repeat("p", 63), StartTime: &now, CompletionTime: &now, Output: output(4096, true), Message: strings.Repeat("m", 1024)}
		finished += jsonSize(t, o)
		ag.Status.Operations = append(ag.Status.Operations, o)
	}
	for i := range 16 {
		ag.Status.Conditions = append(ag.Status.Conditions, metav1.Condition{Type: fmt.Sprintf("Condition%d", i), Status: metav1.ConditionTrue,
			Reason: strings.Repeat("r", 64), Message: strings.Repeat("m", 1024), LastTransitionTime: now, ObservedGeneration: 1})
	}
	n := jsonSize(t, ag)
	t.Logf("worst case: Agenda %.3f MB (spec %.3f MB, status %.3f MB); bound %.3f MB, etcd's limit %.3f MB",
		float64(n)/1e6, float64(jsonSize(t, ag.Spec))/1e6, float64(jsonSize(t, ag.Status))/1e6, agendaBound/1e6, etcdRequestLimit/1e6)
	if n > agendaBound {
		t.Errorf("the worst-case Agenda is %d bytes, over the bound %d", n, int(agendaBound))
	}
}

// TestSpecSize prints the JSON size of the spec alone, with a typical payload, as the
// operation count grows, and checks it grows linearly. A spec of 10,000 such operations is
// 1.38 MB, near etcd's limit by itself: MaxSpecBytes (512 KiB) refuses it, and 10,000
// operations with payloads come from a forEach (one spec operation).
func TestSpecSize(t *testing.T) {
	var perOp []float64
	for _, n := range []int{1000, 5000, 10000} {
		ag := succeededAgenda(n, "")
		ag.Status = popv1.AgendaStatus{}
		b := jsonSize(t, ag)
		perOp = append(perOp, float64(b)/float64(n))
		t.Logf("spec of %5d operations: %8.2f MB  (%.0f B per operation); fits MaxSpecBytes: %v", n, float64(b)/1e6, float64(b)/float64(n), jsonSize(t, ag.Spec) <= popv1.MaxSpecBytes)
	}
	if first, last := perOp[0], perOp[len(perOp)-1]; last > first*1.05 {
		t.Errorf("bytes per operation grew from %.0f to %.0f: the spec is not linear in its operations", first, last)
	}
	t.Logf("typical operations that fit MaxSpecBytes: about %d", int(float64(popv1.MaxSpecBytes)/perOp[0]))
}
