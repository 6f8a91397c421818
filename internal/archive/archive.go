// Package archive is the status layout of issue 14 (docs/status-layout.md): an Agenda's
// status lists only the operations not archived, finished ones move in batches into
// OperationShards written once, and in a large Agenda the operations waiting with nothing
// recorded are left out. Expand rebuilds the whole list the planner and the readers work on;
// Compact splits a whole list back into a shard to write and the entries to store. Both are
// pure: the controller and the readers (popctl, the web UI) do the reading (load.go).
package archive

import (
	"encoding/json"
	"sort"

	"k8s.io/apimachinery/pkg/api/equality"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/fanout"
)

// Archive is an Agenda's archived entries by name; of two shards holding the same operation
// (a rerun ran it again), the later one's entry.
type Archive map[string]popv1.OperationStatus

// Merge builds the Archive of shards given in index order.
func Merge(shards ...[]popv1.OperationStatus) Archive {
	a := Archive{}
	for _, s := range shards {
		a.Add(s)
	}
	return a
}

// Add records a newer shard's entries over older ones.
func (a Archive) Add(shard []popv1.OperationStatus) {
	for _, o := range shard {
		a[o.Name] = *o.DeepCopy()
	}
}

// Expand returns the Agenda's whole operation list, in the planner's order: the spec's
// operations in spec order, then each fan-out's generated operations (spec order, item
// order). An entry comes from the status when listed there, else from the archive, else it
// is an operation waiting with nothing recorded. A fan-out that records its items count
// generates exactly name[0] to name[items-1]; one that does not (not fanned out yet, or
// written before the layout) has the generated entries the status lists.
func Expand(ag *popv1.Agenda, arch Archive) []popv1.OperationStatus {
	live := make(map[string]popv1.OperationStatus, len(ag.Status.Operations))
	for _, o := range ag.Status.Operations {
		live[o.Name] = o
	}
	entry := func(name string) popv1.OperationStatus {
		if o, ok := live[name]; ok {
			return *o.DeepCopy()
		}
		if o, ok := arch[name]; ok {
			return *o.DeepCopy()
		}
		return popv1.OperationStatus{Name: name, State: popv1.OperationWaiting}
	}
	out := make([]popv1.OperationStatus, 0, len(ag.Spec.Operations))
	for _, op := range ag.Spec.Operations {
		out = append(out, entry(op.Name))
	}
	for i, op := range ag.Spec.Operations {
		if op.ForEach == nil {
			continue
		}
		if n := out[i].Items; n > 0 {
			for idx := range int(n) {
				out = append(out, entry(fanout.Name(op.Name, idx)))
			}
			continue
		}
		// A fan-out stored before it recorded its count (before the layout) lists all its
		// items: count them now, or Compact would seal some and Expand lose them.
		items := listedItems(ag.Status.Operations, op.Name)
		out[i].Items = int32(len(items))
		out = append(out, items...)
	}
	return out
}

// listedItems are the generated entries of group the status lists, in item order.
func listedItems(ops []popv1.OperationStatus, group string) []popv1.OperationStatus {
	var out []popv1.OperationStatus
	for _, o := range ops {
		if g, _, ok := fanout.Split(o.Name); ok && g == group {
			out = append(out, *o.DeepCopy())
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		_, x, _ := fanout.Split(out[a].Name)
		_, y, _ := fanout.Split(out[b].Name)
		return x < y
	})
	return out
}

// Compact splits the whole list full (as Expand orders it) into the shards to write, if it
// is time to, and the entries status.operations stores. An entry the archive holds unchanged
// is not stored again. In an Agenda of more than InlineWaitingAbove entries an entry waiting
// with nothing recorded is left out, unless the archive holds another state for it (a rerun
// reset it), which the stored entry must hide. The finished entries stored are cut into
// shards, in order, each closed once it reaches ShardSealBytes or ShardSealCount, with the
// waiting entries at rest (a rerun's resets: see atRest); the rest, below both, stays stored
// until more join it.
func Compact(full []popv1.OperationStatus, arch Archive) (seals [][]popv1.OperationStatus, live []popv1.OperationStatus) {
	inline := len(full) <= popv1.InlineWaitingAbove
	var shard []popv1.OperationStatus
	shardBytes := 0
	sealed := map[string]bool{}
	for _, o := range full {
		if !stored(o, arch, inline) {
			continue
		}
		live = append(live, o)
		if !sealable(o, inline) {
			continue
		}
		shard = append(shard, o)
		if shardBytes += entryBytes(o); shardBytes >= popv1.ShardSealBytes || len(shard) >= popv1.ShardSealCount {
			for _, e := range shard {
				sealed[e.Name] = true
			}
			seals, shard, shardBytes = append(seals, shard), nil, 0
		}
	}
	if len(seals) == 0 {
		return nil, live
	}
	kept := live[:0:0]
	for _, o := range live {
		if !sealed[o.Name] {
			kept = append(kept, o)
		}
	}
	return seals, kept
}

// stored says whether an entry must be stored (in the status or a new shard): not when the
// archive holds it unchanged, nor, in a large Agenda, when it is idle and the archive holds
// nothing for it to hide.
func stored(o popv1.OperationStatus, arch Archive, inline bool) bool {
	a, archived := arch[o.Name]
	if archived {
		return !equality.Semantic.DeepEqual(a, o)
	}
	return inline || !idle(o)
}

// sealable says whether a stored entry goes into a shard once enough gather: one at rest,
// but not an idle one of a small Agenda, which lists its idle entries.
func sealable(o popv1.OperationStatus, inline bool) bool {
	return atRest(o) && (!inline || !idle(o))
}

// atRest says whether an entry may be sealed: finished, or waiting with nothing in progress
// (no retry's backoff, not kept from starting) — what a rerun leaves of the operations it
// resets. A stored entry of a later reconcile replaces a sealed one.
func atRest(o popv1.OperationStatus) bool {
	return o.State.IsFinal() || o.State == popv1.OperationWaiting && o.NextAttemptTime == nil && o.BlockedSince == nil
}

// idle says whether an entry is waiting with nothing recorded: what Expand makes of an
// operation absent from both the status and the archive.
func idle(o popv1.OperationStatus) bool {
	return equality.Semantic.DeepEqual(o, popv1.OperationStatus{Name: o.Name, State: popv1.OperationWaiting})
}

// entryBytes is an entry's size as JSON, the measure the seal bounds.
func entryBytes(o popv1.OperationStatus) int {
	b, err := json.Marshal(o)
	if err != nil {
		return 0
	}
	return len(b)
}

// Count sums up a whole operation list by state.
func Count(full []popv1.OperationStatus) *popv1.OperationCounts {
	c := &popv1.OperationCounts{Total: int32(len(full))}
	for _, o := range full {
		switch o.State {
		case popv1.OperationWaiting:
			c.Waiting++
		case popv1.OperationExecuting:
			c.Executing++
		case popv1.OperationSucceeded:
			c.Succeeded++
		case popv1.OperationFailed:
			c.Failed++
		case popv1.OperationSkipped:
			c.Skipped++
		case popv1.OperationCancelled:
			c.Cancelled++
		}
	}
	return c
}
