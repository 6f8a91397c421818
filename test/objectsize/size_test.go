// Package objectsize measures how large an Agenda's stored JSON grows with its operations
// and outputs, under today's status layout, where every operation's output is held in the
// Agenda's status (issue 14). docs/api.md's "Output bound" figures come from this test:
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

func size(t *testing.T, ag *popv1.Agenda) int {
	t.Helper()
	b, err := json.Marshal(ag)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// TestAgendaSize prints the stored JSON size (without managedFields) of 1,000-operation
// Agendas and asserts what docs/api.md says of them: small outputs fit under etcd's limit,
// outputs near the bound do not. When issue 14's layout lands, the last case must flip.
func TestAgendaSize(t *testing.T) {
	for _, tc := range []struct {
		name       string
		ops, bytes int
		quoted     bool
		fits       bool
	}{
		{"1,000 operations, 100 B outputs", 1000, 100, false, true},
		{"1,000 operations, 1 KiB plain outputs", 1000, 1024, false, true},
		{"1,000 operations, 1 KiB outputs dense in quotes", 1000, 1024, true, false},
		{"1,000 operations, 4 KiB outputs (the bound)", 1000, 4096, false, false},
	} {
		n := size(t, succeededAgenda(tc.ops, output(tc.bytes, tc.quoted)))
		t.Logf("%-50s %8.2f MB  (%.2f × etcd's 1.5 MiB)", tc.name, float64(n)/1e6, float64(n)/etcdRequestLimit)
		if fits := n < etcdRequestLimit; fits != tc.fits {
			t.Errorf("%s: %d bytes; under etcd's limit: %v, documented: %v", tc.name, n, fits, tc.fits)
		}
	}
}

// TestSpecSize prints the JSON size of the spec alone, with a typical payload, as the
// operation count grows toward issue 14's 10,000, and checks it grows linearly: a spec of
// 10,000 operations costs 1.38 MB before managedFields, near etcd's limit by itself.
func TestSpecSize(t *testing.T) {
	var perOp []float64
	for _, n := range []int{1000, 5000, 10000} {
		ag := succeededAgenda(n, "")
		ag.Status = popv1.AgendaStatus{}
		b := size(t, ag)
		perOp = append(perOp, float64(b)/float64(n))
		t.Logf("spec of %5d operations: %8.2f MB  (%.0f B per operation)", n, float64(b)/1e6, float64(b)/float64(n))
	}
	if first, last := perOp[0], perOp[len(perOp)-1]; last > first*1.05 {
		t.Errorf("bytes per operation grew from %.0f to %.0f: the spec is not linear in its operations", first, last)
	}
}
