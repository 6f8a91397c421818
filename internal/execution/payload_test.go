package execution

import (
	"runtime"
	"strings"
	"testing"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
)

// allocated returns the bytes f allocates on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// blobAgenda has 100 KiB of params and one operation, render, whose payload references
// them n times through ref.
func blobAgenda(n int, ref string) *popv1.Agenda {
	refs := make([]any, n)
	for i := range refs {
		refs[i] = ref
	}
	return builders.MakeAgenda("ag", "ns").
		Params(map[string]any{"blob": strings.Repeat("a", 100<<10), "k": "v"}).
		Op("render", "h", refs).Obj()
}

// TestDecideRefusesAmplifiedPayload: 100 KiB of params referenced 200 times would resolve
// to 20 MB; the operation fails instead, naming itself and the budget, and the planner does
// not allocate the amplified payload on the way.
func TestDecideRefusesAmplifiedPayload(t *testing.T) {
	obs := observe(t, blobAgenda(200, "@<agenda.params::/blob>"), popv1.HandlerTypeSpec{})
	var plan Plan
	bytes := allocated(func() { plan = Decide(obs) })
	t.Logf("Decide allocated %d bytes", bytes)
	render := plan.Status.Operations[0]
	t.Logf("render: %s", render.Message)
	if render.State != popv1.OperationFailed || len(plan.Launch) != 0 {
		t.Fatalf("render is %s with %d launches; want Failed and none", render.State, len(plan.Launch))
	}
	for _, want := range []string{`operation "render"`, "exceeds the budget of 131059 bytes"} {
		if !strings.Contains(render.Message, want) {
			t.Errorf("message %q does not say %q", render.Message, want)
		}
	}
	if bytes > 4<<20 {
		t.Errorf("Decide allocated %d bytes; want under 4 MiB", bytes)
	}
}

// TestDecideDecodesParamsOnce: a payload that picks a small value out of big params 200
// times costs one decoding of the params, not 200.
func TestDecideDecodesParamsOnce(t *testing.T) {
	obs := observe(t, blobAgenda(200, "@<agenda.params::/k>"), popv1.HandlerTypeSpec{})
	var plan Plan
	bytes := allocated(func() { plan = Decide(obs) })
	t.Logf("Decide allocated %d bytes", bytes)
	if len(plan.Launch) != 1 || !strings.HasPrefix(string(plan.Launch[0].Payload), `["v","v",`) {
		t.Fatalf("want render launched with 200 × \"v\", got %+v", plan.Status.Operations[0])
	}
	// One decoding of 100 KiB of params (the text and the decoded string) and change.
	if bytes > 1<<20 {
		t.Errorf("Decide allocated %d bytes; want under 1 MiB (params decoded once)", bytes)
	}
}
