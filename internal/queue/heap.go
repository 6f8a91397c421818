package queue

// indexedHeap is a binary heap that can remove or re-order an element by key in
// O(log n). Each element lives in a node that records its own index, so a swap touches no
// map: the key map is used only to find a node on Upsert and Remove.
type indexedHeap[T any] struct {
	nodes []*node[T]
	byKey map[string]*node[T]
	key   func(T) string
	// less takes pointers: an Item is ~150 bytes, and copying two per comparison was a
	// third of the cost of an admission.
	less func(a, b *T) bool
}

type node[T any] struct {
	v   T
	idx int
}

func newHeap[T any](key func(T) string, less func(a, b *T) bool) *indexedHeap[T] {
	return &indexedHeap[T]{byKey: map[string]*node[T]{}, key: key, less: less}
}

func (h *indexedHeap[T]) Len() int { return len(h.nodes) }

// Get returns the element with key k.
func (h *indexedHeap[T]) Get(k string) (T, bool) {
	n, ok := h.byKey[k]
	if !ok {
		var zero T
		return zero, false
	}
	return n.v, true
}

// ref returns the element with key k in place, or nil: for a look without a copy.
func (h *indexedHeap[T]) ref(k string) *T {
	if n, ok := h.byKey[k]; ok {
		return &n.v
	}
	return nil
}

// Upsert inserts x, or replaces the element with the same key and restores the order.
func (h *indexedHeap[T]) Upsert(x T) {
	k := h.key(x)
	if n, ok := h.byKey[k]; ok {
		n.v = x
		h.fix(n.idx)
		return
	}
	n := &node[T]{v: x, idx: len(h.nodes)}
	h.nodes = append(h.nodes, n)
	h.byKey[k] = n
	h.up(n.idx)
}

// Fix restores the order after the element with key k changed in place.
func (h *indexedHeap[T]) Fix(k string) {
	if n, ok := h.byKey[k]; ok {
		h.fix(n.idx)
	}
}

// Remove deletes the element with key k.
func (h *indexedHeap[T]) Remove(k string) (T, bool) {
	n, ok := h.byKey[k]
	if !ok {
		var zero T
		return zero, false
	}
	delete(h.byKey, k)
	h.removeAt(n.idx)
	return n.v, true
}

func (h *indexedHeap[T]) removeAt(i int) {
	last := len(h.nodes) - 1
	h.swap(i, last)
	h.nodes[last] = nil
	h.nodes = h.nodes[:last]
	if i < last {
		h.fix(i)
	}
}

// Peek returns the least element.
func (h *indexedHeap[T]) Peek() (T, bool) {
	if len(h.nodes) == 0 {
		var zero T
		return zero, false
	}
	return h.nodes[0].v, true
}

// peekRef points at the least element without copying it; at a zero value when empty.
func (h *indexedHeap[T]) peekRef() *T {
	if len(h.nodes) == 0 {
		return new(T)
	}
	return &h.nodes[0].v
}

// Pop removes and returns the least element.
func (h *indexedHeap[T]) Pop() (T, bool) {
	if len(h.nodes) == 0 {
		var zero T
		return zero, false
	}
	n := h.nodes[0]
	delete(h.byKey, h.key(n.v))
	h.removeAt(0)
	return n.v, true
}

func (h *indexedHeap[T]) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h *indexedHeap[T]) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(&h.nodes[i].v, &h.nodes[parent].v) {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

func (h *indexedHeap[T]) down(i int) bool {
	start := i
	n := len(h.nodes)
	for {
		left := 2*i + 1
		if left >= n {
			break
		}
		least := left
		if right := left + 1; right < n && h.less(&h.nodes[right].v, &h.nodes[left].v) {
			least = right
		}
		if !h.less(&h.nodes[least].v, &h.nodes[i].v) {
			break
		}
		h.swap(i, least)
		i = least
	}
	return i > start
}

func (h *indexedHeap[T]) swap(i, j int) {
	h.nodes[i], h.nodes[j] = h.nodes[j], h.nodes[i]
	h.nodes[i].idx = i
	h.nodes[j].idx = j
}
