package queue

import "time"

// fairQueue shares capacity between customers by weight: the next admission goes to the
// customer with pending work whose admitted count is furthest below its weighted share
// (least admitted/weight), FIFO within a customer. With equal weights and a backlog from
// everyone, admissions go round-robin, like the original POP's RoundRobin.
type fairQueue struct {
	weights   map[string]int32
	customers *indexedHeap[string, *customer]
	byKey     map[Key]string // item key -> customer
	all       map[string]*customer
}

type customer struct {
	id       string
	weight   int64
	admitted int64
	items    *indexedHeap[Key, Item]
}

func newFairQueue(weights map[string]int32) *fairQueue {
	q := &fairQueue{weights: weights, byKey: map[Key]string{}, all: map[string]*customer{}}
	q.customers = newHeap(func(c *customer) string { return c.id }, customerLess)
	return q
}

// customerLess puts first the customer least served relative to its weight, then the one
// whose oldest pending Agenda waited longest.
func customerLess(a, b **customer) bool {
	return customerBefore(*a, *b)
}

func customerBefore(a, b *customer) bool {
	// admitted_a/weight_a < admitted_b/weight_b, without division.
	if l, r := a.admitted*b.weight, b.admitted*a.weight; l != r {
		return l < r
	}
	ha, hb := a.items.peekRef(), b.items.peekRef()
	switch {
	case fifoLess(ha, hb):
		return true
	case fifoLess(hb, ha):
		return false
	}
	return a.id < b.id
}

func (q *fairQueue) customer(id string) *customer {
	c, ok := q.all[id]
	if !ok {
		w := int64(1)
		if x, ok := q.weights[id]; ok && x > 0 {
			w = int64(x)
		}
		c = &customer{id: id, weight: w, items: newHeap(itemKey, fifoLess)}
		q.all[id] = c
	}
	return c
}

// refresh puts c in the customer heap at its right place, or takes it out when it has
// nothing pending.
func (q *fairQueue) refresh(c *customer) {
	if c.items.Len() == 0 {
		q.customers.Remove(c.id)
		if c.admitted == 0 {
			delete(q.all, c.id)
		}
		return
	}
	q.customers.Upsert(c)
}

func (q *fairQueue) Push(it Item) {
	if old, ok := q.byKey[it.Key]; ok && old != it.Customer {
		q.Remove(it.Key)
	}
	it.at = it.Since.UnixNano()
	c := q.customer(it.Customer)
	c.items.Upsert(it)
	q.byKey[it.Key] = it.Customer
	q.refresh(c)
}

func (q *fairQueue) Remove(key Key) bool {
	id, ok := q.byKey[key]
	if !ok {
		return false
	}
	delete(q.byKey, key)
	c := q.all[id]
	c.items.Remove(key)
	q.refresh(c)
	return true
}

func (q *fairQueue) Peek() (Item, bool) {
	c, ok := q.customers.Peek()
	if !ok {
		return Item{}, false
	}
	return c.items.Peek()
}

func (q *fairQueue) Pop() (Item, bool) {
	c, ok := q.customers.Peek()
	if !ok {
		return Item{}, false
	}
	it, _ := c.items.Pop()
	delete(q.byKey, it.Key)
	c.admitted++
	q.refresh(c)
	return it, true
}

func (q *fairQueue) Admit(id string) {
	c := q.customer(id)
	c.admitted++
	q.refresh(c)
}

func (q *fairQueue) Release(id string) {
	c, ok := q.all[id]
	if !ok || c.admitted == 0 {
		return
	}
	c.admitted--
	q.refresh(c)
}

func (q *fairQueue) Len() int { return len(q.byKey) }

func (q *fairQueue) Contains(key Key) bool { _, ok := q.byKey[key]; return ok }

// Head pops n items and puts them back, undoing the usage the pops counted.
func (q *fairQueue) Head(n int) []Item {
	out := popN(q, n)
	for _, it := range out {
		q.Release(it.Customer)
		q.Push(it)
	}
	return out
}

// Oldest looks at each waiting customer's head, the oldest of its FIFO: O(customers), not
// O(items).
func (q *fairQueue) Oldest() (time.Time, bool) {
	var oldest *Item
	for _, n := range q.customers.nodes {
		if h := n.v.items.peekRef(); oldest == nil || h.at < oldest.at {
			oldest = h
		}
	}
	if oldest == nil {
		return time.Time{}, false
	}
	return oldest.Since, true
}
