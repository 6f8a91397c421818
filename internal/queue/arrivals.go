package queue

import (
	"container/heap"
	"time"
)

// arrivals orders a Priority queue's items by arrival, so that Oldest needs no walk over
// them. Admissions must stay cheap, so removals leave their entry behind: an entry is
// live while the queue holds its key with the same arrival, and stale entries are dropped
// when they reach the top, or all at once when they outnumber the live ones (amortized
// O(1) per push; at most about twice the entries of the queue).
type arrivals struct {
	entries arrivalHeap
}

type arrival struct {
	at  int64
	key Key
}

// add records an item's arrival.
func (a *arrivals) add(key Key, at int64, live *indexedHeap[Key, Item]) {
	if len(a.entries) > 2*live.Len()+1024 {
		a.rebuild(live)
	}
	heap.Push(&a.entries, arrival{at: at, key: key})
}

// oldest drops stale entries from the top and returns the earliest live arrival.
func (a *arrivals) oldest(live *indexedHeap[Key, Item]) (time.Time, bool) {
	for len(a.entries) > 0 {
		top := a.entries[0]
		if it := live.ref(top.key); it != nil && it.at == top.at {
			return it.Since, true
		}
		heap.Pop(&a.entries)
	}
	return time.Time{}, false
}

// rebuild keeps one entry per item the queue holds.
func (a *arrivals) rebuild(live *indexedHeap[Key, Item]) {
	a.entries = a.entries[:0]
	for _, n := range live.nodes {
		a.entries = append(a.entries, arrival{at: n.v.at, key: n.v.Key})
	}
	heap.Init(&a.entries)
}

type arrivalHeap []arrival

func (h arrivalHeap) Len() int { return len(h) }
func (h arrivalHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].key.less(h[j].key)
}
func (h arrivalHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *arrivalHeap) Push(x any)   { *h = append(*h, x.(arrival)) }
func (h *arrivalHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
