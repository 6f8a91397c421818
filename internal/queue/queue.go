// Package queue orders an Insight's pending Agendas: FIFO, weighted Fairness between
// customers, or Priority with optional aging. It is pure — no client, no clock of its own —
// so that the scheduler, popctl and tests share one definition of "who is next".
package queue

import (
	"time"
)

// Algorithm names, as in the Insight API.
const (
	FIFO     = "FIFO"
	Fairness = "Fairness"
	Priority = "Priority"
)

// Key identifies an Agenda. Its fields are those of types.NamespacedName, so the scheduler
// converts between the two without this package importing the API machinery.
type Key struct {
	Namespace string
	Name      string
}

// less orders keys by namespace, then name: the last tie-break.
func (k Key) less(o Key) bool {
	if k.Namespace != o.Namespace {
		return k.Namespace < o.Namespace
	}
	return k.Name < o.Name
}

// String is namespace/name.
func (k Key) String() string { return k.Namespace + "/" + k.Name }

// Item is one pending Agenda.
type Item struct {
	// Key identifies the Agenda.
	Key Key
	// UID breaks the last ties, so that order never depends on map iteration.
	UID      string
	Customer string
	Priority int32
	// Since is when the Agenda joined the queue.
	Since time.Time
	// Seq orders items with equal Since (Kubernetes timestamps have whole seconds): the
	// scheduler numbers Agendas in the order its watch delivers them, which is the order
	// the API server stored them.
	Seq uint64

	// at and rank cache Since in nanoseconds and the aging score: comparisons run
	// O(log n) times per operation and must not redo the arithmetic.
	at   int64
	rank float64
}

// Policy is how a queue orders its items.
type Policy struct {
	Algorithm string
	// Weights are customers' Fairness shares; unlisted customers weigh 1.
	Weights map[string]int32
	// AgingInterval and AgingStep raise a waiting Agenda's Priority by AgingStep for every
	// AgingInterval it waited. Zero interval: no aging.
	AgingInterval time.Duration
	AgingStep     int32
}

// Queue is the pending Agendas of one Insight.
type Queue interface {
	// Push adds an item, or updates the one with the same key.
	Push(Item)
	// Remove deletes an item by key and reports whether it was there.
	Remove(key Key) bool
	// Peek returns the item to admit next.
	Peek() (Item, bool)
	// Pop removes and returns the item to admit next, counting it as admitted.
	Pop() (Item, bool)
	// Release tells the queue that one admitted Agenda of customer finished.
	Release(customer string)
	// Admit counts an Agenda of customer as admitted without popping it (rebuilding
	// usage after a restart).
	Admit(customer string)
	// Len is the number of pending items.
	Len() int
	// Contains reports whether key is pending.
	Contains(key Key) bool
	// Head returns up to n items in admission order without changing the queue.
	Head(n int) []Item
	// Oldest returns the earliest Since among pending items, whatever their order of
	// admission, without a walk over them (an Insight's status shows it every second).
	Oldest() (time.Time, bool)
}

// New returns an empty queue for the policy.
func New(p Policy) Queue {
	switch p.Algorithm {
	case Fairness:
		return newFairQueue(p.Weights)
	case Priority:
		return &orderedQueue{h: newHeap(itemKey, priorityLess), prepare: ranker(p), arrivals: &arrivals{}}
	default:
		return &orderedQueue{h: newHeap(itemKey, fifoLess), prepare: ranker(Policy{})}
	}
}

// ranker returns what prepares an item for comparison: its time in nanoseconds and, for
// Priority, its rank. With aging the effective priority at time t is
// priority + step·(t − since)/interval; comparing two items the t terms cancel, so the
// rank priority − step·since/interval orders them the same at every t and a plain heap
// stays valid.
func ranker(p Policy) func(*Item) {
	rate := 0.0
	if p.AgingInterval > 0 && p.AgingStep > 0 {
		rate = float64(p.AgingStep) / p.AgingInterval.Seconds()
	}
	return func(it *Item) {
		it.at = it.Since.UnixNano()
		it.rank = float64(it.Priority) - rate*it.Since.Sub(agingEpoch).Seconds()
	}
}

func itemKey(it Item) Key { return it.Key }

// fifoLess orders by arrival, then Seq, then UID.
func fifoLess(a, b *Item) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	if a.Seq != b.Seq {
		return a.Seq < b.Seq
	}
	if a.UID != b.UID {
		return a.UID < b.UID
	}
	return a.Key.less(b.Key)
}

// agingEpoch anchors aging scores; any fixed instant works.
var agingEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// priorityLess orders by rank (priority, aged), then FIFO.
func priorityLess(a, b *Item) bool {
	if a.rank != b.rank {
		return a.rank > b.rank
	}
	return fifoLess(a, b)
}

// orderedQueue serves FIFO and Priority: one heap, usage does not matter.
type orderedQueue struct {
	h       *indexedHeap[Key, Item]
	prepare func(*Item)
	// arrivals orders Priority's items by arrival too, for Oldest; nil for FIFO, whose
	// head is its oldest.
	arrivals *arrivals
}

func (q *orderedQueue) Push(it Item) {
	q.prepare(&it)
	if q.arrivals != nil {
		if old := q.h.ref(it.Key); old == nil || old.at != it.at {
			q.arrivals.add(it.Key, it.at, q.h)
		}
	}
	q.h.Upsert(it)
}
func (q *orderedQueue) Peek() (Item, bool)    { return q.h.Peek() }
func (q *orderedQueue) Pop() (Item, bool)     { return q.h.Pop() }
func (q *orderedQueue) Release(string)        {}
func (q *orderedQueue) Admit(string)          {}
func (q *orderedQueue) Len() int              { return q.h.Len() }
func (q *orderedQueue) Contains(key Key) bool { _, ok := q.h.Get(key); return ok }

func (q *orderedQueue) Remove(key Key) bool {
	_, ok := q.h.Remove(key)
	return ok
}

func (q *orderedQueue) Head(n int) []Item {
	out := popN(q, n)
	for _, it := range out {
		q.h.Upsert(it) // already prepared, and still in arrivals
	}
	return out
}

func (q *orderedQueue) Oldest() (time.Time, bool) {
	if q.arrivals != nil {
		return q.arrivals.oldest(q.h)
	}
	it, ok := q.h.Peek()
	return it.Since, ok
}

func popN(q Queue, n int) []Item {
	var out []Item
	for len(out) < n {
		it, ok := q.Pop()
		if !ok {
			break
		}
		out = append(out, it)
	}
	return out
}
