package archive

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/fanout"
)

// agendaOf is an Agenda of spec operations op-0 … op-(n-1), op-0 a fan-out, its whole list
// full (the group's items count decides how many generated entries follow).
func agendaOf(n int) *popv1.Agenda {
	ag := &popv1.Agenda{}
	ag.Name, ag.UID = "ag", "0123456789"
	for i := range n {
		op := popv1.Operation{Name: fmt.Sprintf("op-%d", i), Type: "h"}
		if i == 0 {
			op.ForEach = &apiextensionsv1.JSON{Raw: []byte(`"@<agenda.params::/x>"`)}
		}
		ag.Spec.Operations = append(ag.Spec.Operations, op)
	}
	return ag
}

// wholeList is the list Expand must rebuild: the spec's entries then items generated ones.
func wholeList(ag *popv1.Agenda, items int) []popv1.OperationStatus {
	var out []popv1.OperationStatus
	for _, op := range ag.Spec.Operations {
		out = append(out, popv1.OperationStatus{Name: op.Name, State: popv1.OperationWaiting})
	}
	out[0].Items = int32(items)
	for i := range items {
		out = append(out, popv1.OperationStatus{Name: fanout.Name("op-0", i), State: popv1.OperationWaiting})
	}
	return out
}

// step moves some entries on, as reconciles do: waiting ones start, executing ones end
// (with an output of outBytes), and now and then a finished one is reset (a rerun).
func step(rng *rand.Rand, full []popv1.OperationStatus, outBytes int) {
	now := metav1.NewTime(metav1.Now().Rfc3339Copy().Time)
	for k := 1; k < len(full); k++ { // entry 0 is the group: it stays as it is
		o := &full[k]
		switch r := rng.IntN(10); {
		case o.State == popv1.OperationWaiting && r < 3:
			o.State, o.Attempts, o.Pod, o.StartTime = popv1.OperationExecuting, o.Attempts+1, fmt.Sprintf("pod-%d-%d", k, o.Attempts+1), &now
		case o.State == popv1.OperationExecuting && r < 3:
			o.State, o.Output, o.CompletionTime = popv1.OperationSucceeded, `"`+strings.Repeat("x", outBytes)+`"`, &now
		case o.State == popv1.OperationExecuting && r == 3:
			o.State, o.Message, o.CompletionTime = popv1.OperationFailed, "exit 1", &now
		case o.State.IsFinal() && r == 0 && rng.IntN(20) == 0:
			*o = popv1.OperationStatus{Name: o.Name, State: popv1.OperationWaiting, Attempts: o.Attempts}
		}
	}
}

// checkRoundTrip runs reconciles on an Agenda of n spec operations and items generated ones:
// each compacts the whole list into a shard and a stored status, and Expand must give the
// whole list back from them; no shard and no stored status may pass the bounds.
func checkRoundTrip(t *testing.T, seed uint64, n, items, outBytes, steps int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	ag := agendaOf(n)
	full := wholeList(ag, items)
	arch := Archive{}
	for s := range steps {
		step(rng, full, outBytes)
		seals, live := Compact(full, arch)
		for _, seal := range seals {
			if b := jsonBytes(seal); b > popv1.ShardSealBytes+entryMax(seal)+len(seal)+1 || len(seal) > popv1.ShardSealCount { // + the commas and brackets
				t.Fatalf("step %d: a shard of %d entries, %d bytes", s, len(seal), b)
			}
			arch.Add(Stored(seal))
		}
		checkUnsealed(t, s, live, len(full) <= popv1.InlineWaitingAbove)
		ag.Status.Operations = Stored(live)
		got := Expand(ag, arch)
		if !equality.Semantic.DeepEqual(got, Stored(full)) {
			t.Fatalf("step %d (seed %d): Expand differs from the whole list:\n got %v\nwant %v", s, seed, brief(got), brief(full))
		}
		if len(full) > popv1.InlineWaitingAbove {
			for _, o := range live {
				if _, archived := arch[o.Name]; idle(o) && !archived {
					t.Fatalf("step %d: idle entry %s stored in a large Agenda", s, o.Name)
				}
			}
		}
	}
}

// checkUnsealed fails when the entries stored could have made a shard.
func checkUnsealed(t *testing.T, step int, live []popv1.OperationStatus, inline bool) {
	t.Helper()
	var n, bytes int
	for _, o := range live {
		if sealable(o, inline) {
			n, bytes = n+1, bytes+entryBytes(o)
		}
	}
	if n >= popv1.ShardSealCount || bytes >= popv1.ShardSealBytes {
		t.Fatalf("step %d: %d entries at rest (%d bytes) stored, not sealed", step, n, bytes)
	}
}

func jsonBytes(v any) int {
	b, _ := json.Marshal(v)
	return len(b)
}

func entryMax(ops []popv1.OperationStatus) int {
	m := 0
	for _, o := range ops {
		m = max(m, entryBytes(o))
	}
	return m
}

func brief(ops []popv1.OperationStatus) string {
	parts := make([]string, 0, len(ops))
	for _, o := range ops {
		parts = append(parts, fmt.Sprintf("%s:%s/%d", o.Name, o.State, o.Attempts))
	}
	return strings.Join(parts, " ")
}

func TestCompactThenExpandGivesTheWholeListBack(t *testing.T) {
	for _, tc := range []struct{ n, items, out int }{
		{3, 0, 10},      // small: everything inline
		{3, 40, 10},     // small with a fan-out
		{50, 500, 1000}, // large: idle entries left out, shards sealed by size
		{300, 0, 10},    // large without fan-out: shards sealed by count
		{2, 2000, 4096}, // wide fan-out, outputs at their bound
	} {
		t.Run(fmt.Sprintf("%d ops %d items %dB", tc.n, tc.items, tc.out), func(t *testing.T) {
			for seed := range uint64(3) {
				checkRoundTrip(t, seed, tc.n, tc.items, tc.out, 20)
			}
		})
	}
}

func TestCompactKeepsWhatItMustHide(t *testing.T) {
	ag := agendaOf(200)
	full := wholeList(ag, 0)
	arch := Archive{}
	arch.Add([]popv1.OperationStatus{{Name: "op-5", State: popv1.OperationSucceeded, Attempts: 1, Output: `"old"`}})
	// op-5 was reset by a rerun that never started it: idle, but the archive says Succeeded.
	_, live := Compact(full, arch)
	if len(live) != 1 || live[0].Name != "op-5" {
		t.Fatalf("stored %v, want only op-5 (hiding its archived end)", brief(live))
	}
	ag.Status.Operations = live
	if got := Expand(ag, arch)[5]; got.State != popv1.OperationWaiting {
		t.Errorf("op-5 expands to %s, want Waiting", got.State)
	}
}

func TestExpandDropsItemsPastTheCount(t *testing.T) {
	ag := agendaOf(1)
	arch := Merge([]popv1.OperationStatus{{Name: "op-0[0]", State: popv1.OperationSucceeded}, {Name: "op-0[3]", State: popv1.OperationSucceeded}})
	ag.Status.Operations = []popv1.OperationStatus{{Name: "op-0", State: popv1.OperationExecuting, Items: 2}}
	got := Expand(ag, arch)
	if want := "op-0:Executing/0 op-0[0]:Succeeded/0 op-0[1]:Waiting/0"; brief(got) != want {
		t.Errorf("Expand = %s, want %s (a rerun over a shorter array drops op-0[3])", brief(got), want)
	}
}

func TestCompactSealsARerunsResets(t *testing.T) {
	ag := agendaOf(5000)
	full := wholeList(ag, 0)
	arch := Archive{}
	for i := range full { // every operation succeeded and was archived, then a rerun reset them all
		arch[full[i].Name] = popv1.OperationStatus{Name: full[i].Name, State: popv1.OperationSucceeded, Attempts: 1}
		full[i] = popv1.OperationStatus{Name: full[i].Name, State: popv1.OperationWaiting, Attempts: 1}
	}
	seals, live := Compact(full, arch)
	if len(live) >= popv1.ShardSealCount {
		t.Fatalf("%d entries stored after a rerun of 5,000, want them sealed (%d shards)", len(live), len(seals))
	}
	for _, s := range seals {
		arch.Add(s)
	}
	ag.Status.Operations = live
	for _, o := range Expand(ag, arch) {
		if o.State != popv1.OperationWaiting || o.Attempts != 1 {
			t.Fatalf("%s expands to %s/%d, want Waiting after the rerun", o.Name, o.State, o.Attempts)
		}
	}
}

func TestExpandCountsTheItemsOfAFanOutStoredBeforeTheLayout(t *testing.T) {
	ag := agendaOf(150)
	ag.Status.Operations = []popv1.OperationStatus{{Name: "op-0", State: popv1.OperationExecuting}}
	for i := range 300 {
		st := popv1.OperationWaiting
		if i < 150 {
			st = popv1.OperationSucceeded
		}
		ag.Status.Operations = append(ag.Status.Operations, popv1.OperationStatus{Name: fanout.Name("op-0", i), State: st})
	}
	full := Expand(ag, Archive{})
	seals, live := Compact(full, Archive{})
	arch := Archive{}
	for _, s := range seals {
		arch.Add(s)
	}
	ag.Status.Operations = live
	if got := len(Expand(ag, arch)); got != 450 {
		t.Errorf("%d entries after one compaction, want 450 (150 spec, 300 items)", got)
	}
}

func TestCount(t *testing.T) {
	c := Count([]popv1.OperationStatus{{State: popv1.OperationWaiting}, {State: popv1.OperationSucceeded}, {State: popv1.OperationSucceeded}, {State: popv1.OperationCancelled}})
	if *c != (popv1.OperationCounts{Total: 4, Waiting: 1, Succeeded: 2, Cancelled: 1}) {
		t.Errorf("Count = %+v", *c)
	}
}

func FuzzCompactThenExpand(f *testing.F) {
	f.Add(uint64(1), uint16(3), uint16(10), uint16(10))
	f.Add(uint64(2), uint16(150), uint16(300), uint16(2000))
	f.Fuzz(func(t *testing.T, seed uint64, n, items, out uint16) {
		checkRoundTrip(t, seed, int(n%300)+1, int(items%3000), int(out%4096)+1, 20)
	})
}
