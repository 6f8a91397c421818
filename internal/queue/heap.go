package queue

// indexedHeap is a binary heap that can remove or re-order an element by key in
// O(log n). Each element lives in a node that records its own index, so a swap touches no
// map: the key map is used only to find a node on Upsert and Remove.
type indexedHeap[K comparable, T any] struct {
	nodes []*node[T]
	byKey map[K]*node[T]
	key   func(T) K
	// less takes pointers: an Item is many words, and a comparison should not copy two.
	less func(a, b *T) bool
}

type node[T any] struct {
	v   T
	idx int
}

func newHeap[K comparable, T any](key func(T) K, less func(a, b *T) bool) *indexedHeap[K, T] {
	return &indexedHeap[K, T]{byKey: map[K]*node[T]{}, key: key, less: less}
}

func (h *indexedHeap[K, T]) Len() int { return len(h.nodes) }

// Get returns the element with key k.
func (h *indexedHeap[K, T]) Get(k K) (T, bool) {
	n, ok := h.byKey[k]
	if !ok {
		var zero T
		return zero, false
	}
	return n.v, true
}

// ref returns the element with key k in place, or nil: for a look without a copy.
func (h *indexedHeap[K, T]) ref(k K) *T {
	if n, ok := h.byKey[k]; ok {
		return &n.v
	}
	return nil
}

// Upsert inserts x, or replaces the element with the same key and restores the order.
func (h *indexedHeap[K, T]) Upsert(x T) {
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
func (h *indexedHeap[K, T]) Fix(k K) {
	if n, ok := h.byKey[k]; ok {
		h.fix(n.idx)
	}
}

// Remove deletes the element with key k.
func (h *indexedHeap[K, T]) Remove(k K) (T, bool) {
	n, ok := h.byKey[k]
	if !ok {
		var zero T
		return zero, false
	}
	delete(h.byKey, k)
	h.removeAt(n.idx)
	return n.v, true
}

func (h *indexedHeap[K, T]) removeAt(i int) {
	last := len(h.nodes) - 1
	h.swap(i, last)
	h.nodes[last] = nil
	h.nodes = h.nodes[:last]
	if i < last {
		h.fix(i)
	}
}

// Peek returns the least element.
func (h *indexedHeap[K, T]) Peek() (T, bool) {
	if len(h.nodes) == 0 {
		var zero T
		return zero, false
	}
	return h.nodes[0].v, true
}

// peekRef points at the least element without copying it; at a zero value when empty.
func (h *indexedHeap[K, T]) peekRef() *T {
	if len(h.nodes) == 0 {
		return new(T)
	}
	return &h.nodes[0].v
}

// Pop removes and returns the least element.
func (h *indexedHeap[K, T]) Pop() (T, bool) {
	if len(h.nodes) == 0 {
		var zero T
		return zero, false
	}
	n := h.nodes[0]
	delete(h.byKey, h.key(n.v))
	h.removeAt(0)
	return n.v, true
}

func (h *indexedHeap[K, T]) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h *indexedHeap[K, T]) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(&h.nodes[i].v, &h.nodes[parent].v) {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

func (h *indexedHeap[K, T]) down(i int) bool {
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

func (h *indexedHeap[K, T]) swap(i, j int) {
	h.nodes[i], h.nodes[j] = h.nodes[j], h.nodes[i]
	h.nodes[i].idx = i
	h.nodes[j].idx = j
}
