package queue

// indexedHeap is a binary heap that knows where each element sits, so that an element can
// be removed or re-ordered by key in O(log n) (container/heap needs the index kept by hand).
type indexedHeap[T any] struct {
	items []T
	pos   map[string]int
	key   func(T) string
	less  func(a, b T) bool
}

func newHeap[T any](key func(T) string, less func(a, b T) bool) *indexedHeap[T] {
	return &indexedHeap[T]{pos: map[string]int{}, key: key, less: less}
}

func (h *indexedHeap[T]) Len() int { return len(h.items) }

// Get returns the element with key k.
func (h *indexedHeap[T]) Get(k string) (T, bool) {
	i, ok := h.pos[k]
	if !ok {
		var zero T
		return zero, false
	}
	return h.items[i], true
}

// Upsert inserts x, or replaces the element with the same key and restores the order.
func (h *indexedHeap[T]) Upsert(x T) {
	k := h.key(x)
	if i, ok := h.pos[k]; ok {
		h.items[i] = x
		h.fix(i)
		return
	}
	h.items = append(h.items, x)
	h.pos[k] = len(h.items) - 1
	h.up(len(h.items) - 1)
}

// Fix restores the order after the element with key k changed in place.
func (h *indexedHeap[T]) Fix(k string) {
	if i, ok := h.pos[k]; ok {
		h.fix(i)
	}
}

// Remove deletes the element with key k.
func (h *indexedHeap[T]) Remove(k string) (T, bool) {
	i, ok := h.pos[k]
	if !ok {
		var zero T
		return zero, false
	}
	x := h.items[i]
	last := len(h.items) - 1
	h.swap(i, last)
	h.items = h.items[:last]
	delete(h.pos, k)
	if i < last {
		h.fix(i)
	}
	return x, true
}

// Peek returns the least element.
func (h *indexedHeap[T]) Peek() (T, bool) {
	if len(h.items) == 0 {
		var zero T
		return zero, false
	}
	return h.items[0], true
}

// Pop removes and returns the least element.
func (h *indexedHeap[T]) Pop() (T, bool) {
	x, ok := h.Peek()
	if !ok {
		return x, false
	}
	return h.Remove(h.key(x))
}

func (h *indexedHeap[T]) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h *indexedHeap[T]) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(h.items[i], h.items[parent]) {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

func (h *indexedHeap[T]) down(i int) bool {
	start := i
	n := len(h.items)
	for {
		left := 2*i + 1
		if left >= n {
			break
		}
		least := left
		if right := left + 1; right < n && h.less(h.items[right], h.items[left]) {
			least = right
		}
		if !h.less(h.items[least], h.items[i]) {
			break
		}
		h.swap(i, least)
		i = least
	}
	return i > start
}

func (h *indexedHeap[T]) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.pos[h.key(h.items[i])] = i
	h.pos[h.key(h.items[j])] = j
}
