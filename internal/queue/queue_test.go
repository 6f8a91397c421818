package queue

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func item(key, customer string, prio int32, at time.Duration) Item {
	return Item{Key: Key{Name: key}, UID: "uid-" + key, Customer: customer, Priority: prio, Since: t0.Add(at)}
}

func drain(q Queue) []string {
	var out []string
	for {
		it, ok := q.Pop()
		if !ok {
			return out
		}
		out = append(out, it.Key.Name)
	}
}

func TestOrder(t *testing.T) {
	cases := map[string]struct {
		policy Policy
		items  []Item
		want   []string
	}{
		"FIFO by arrival, UID breaks ties": {
			policy: Policy{Algorithm: FIFO},
			items:  []Item{item("c", "x", 9, 2), item("a", "y", 0, 0), item("b2", "x", 0, 1), item("b1", "x", 0, 1)},
			want:   []string{"a", "b1", "b2", "c"},
		},
		"Priority: highest first, FIFO within": {
			policy: Policy{Algorithm: Priority},
			items:  []Item{item("low", "x", 1, 0), item("high-late", "x", 10, 5), item("high-early", "x", 10, 1), item("mid", "x", 5, 0)},
			want:   []string{"high-early", "high-late", "mid", "low"},
		},
		"Priority with aging: a long wait beats a small priority gap": {
			// One step a minute: "old" waited 10 minutes and gains 10 over "new".
			policy: Policy{Algorithm: Priority, AgingInterval: time.Minute, AgingStep: 1},
			items:  []Item{item("new", "x", 5, 10*time.Minute), item("old", "x", 0, 0), item("newest-high", "x", 20, 11*time.Minute)},
			want:   []string{"newest-high", "old", "new"},
		},
		"Fairness with equal weights: round-robin": {
			policy: Policy{Algorithm: Fairness},
			items: []Item{item("a1", "a", 0, 0), item("a2", "a", 0, 1), item("a3", "a", 0, 2),
				item("b1", "b", 0, 3), item("b2", "b", 0, 4), item("c1", "c", 0, 5)},
			want: []string{"a1", "b1", "c1", "a2", "b2", "a3"},
		},
		"Fairness with weights: a customer of weight 2 gets two turns": {
			policy: Policy{Algorithm: Fairness, Weights: map[string]int32{"a": 2}},
			items: []Item{item("a1", "a", 0, 0), item("a2", "a", 0, 1), item("a3", "a", 0, 2), item("a4", "a", 0, 3),
				item("b1", "b", 0, 4), item("b2", "b", 0, 5)},
			want: []string{"a1", "b1", "a2", "a3", "b2", "a4"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			q := New(tc.policy)
			for _, it := range tc.items {
				q.Push(it)
			}
			if got := q.Head(3); len(got) != min(3, len(tc.want)) || got[0].Key.Name != tc.want[0] {
				t.Errorf("Head(3) = %v", got)
			}
			if q.Len() != len(tc.items) {
				t.Errorf("Head changed the queue: Len = %d", q.Len())
			}
			if diff := cmp.Diff(tc.want, drain(q)); diff != "" {
				t.Errorf("admission order (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFairnessCountsRunningAgendas(t *testing.T) {
	q := New(Policy{Algorithm: Fairness})
	q.Admit("a") // a already runs two Agendas, b none
	q.Admit("a")
	q.Push(item("a1", "a", 0, 0))
	q.Push(item("b1", "b", 0, 1))
	q.Push(item("b2", "b", 0, 2))
	if diff := cmp.Diff([]string{"b1", "b2", "a1"}, drain(q)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	q.Release("a")
	q.Release("a")
	q.Release("a")
	q.Push(item("a2", "a", 0, 3))
	q.Push(item("b3", "b", 0, 4))
	if it, _ := q.Peek(); it.Key.Name != "a2" {
		t.Errorf("after a's Agendas finished, a (1 running) should go before b (2 running), got %s", it.Key)
	}
}

func TestRemoveAndUpdate(t *testing.T) {
	for _, alg := range []string{FIFO, Priority, Fairness} {
		t.Run(alg, func(t *testing.T) {
			q := New(Policy{Algorithm: alg})
			q.Push(item("a", "x", 0, 0))
			q.Push(item("b", "y", 0, 1))
			q.Push(item("c", "x", 0, 2))
			if !q.Remove(Key{Name: "a"}) || q.Remove(Key{Name: "a"}) || q.Contains(Key{Name: "a"}) {
				t.Fatal("Remove misbehaves")
			}
			q.Push(item("c", "y", 0, -1)) // c moves to customer y and to the front
			if q.Len() != 2 {
				t.Fatalf("Len = %d after an update, want 2", q.Len())
			}
			if diff := cmp.Diff([]string{"c", "b"}, drain(q)); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFIFOProperty: whatever the insertion order, FIFO pops by arrival.
func TestFIFOProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 50; round++ {
		q := New(Policy{Algorithm: FIFO})
		n := 1 + r.IntN(200)
		for _, i := range r.Perm(n) {
			q.Push(item(fmt.Sprintf("k%04d", i), "c", int32(r.IntN(5)), time.Duration(i)))
		}
		prev := time.Time{}
		for it, ok := q.Pop(); ok; it, ok = q.Pop() {
			if it.Since.Before(prev) {
				t.Fatalf("round %d: %s popped after a later item", round, it.Key)
			}
			prev = it.Since
		}
	}
}

// TestPriorityProperty: without aging, never a lower priority before a higher one.
func TestPriorityProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 50; round++ {
		q := New(Policy{Algorithm: Priority})
		for i := 0; i < 1+r.IntN(300); i++ {
			q.Push(item(fmt.Sprintf("k%d", i), "c", int32(r.IntN(10)-5), time.Duration(r.IntN(1000))))
		}
		prev := Item{Priority: 1 << 30}
		for it, ok := q.Pop(); ok; it, ok = q.Pop() {
			if it.Priority > prev.Priority || (it.Priority == prev.Priority && it.Since.Before(prev.Since)) {
				t.Fatalf("round %d: %+v after %+v", round, it, prev)
			}
			prev = it
		}
	}
}

// TestFairnessConverges: with a backlog from three customers weighted 1:2:3 and Agendas
// finishing at random, admissions converge to the weights.
func TestFairnessConverges(t *testing.T) {
	weights := map[string]int32{"a": 1, "b": 2, "c": 3}
	q := New(Policy{Algorithm: Fairness, Weights: weights})
	r := rand.New(rand.NewPCG(5, 6))
	seq := 0
	for _, c := range []string{"a", "b", "c"} {
		for i := 0; i < 3000; i++ {
			seq++
			q.Push(item(fmt.Sprintf("%s%d", c, i), c, 0, time.Duration(seq)))
		}
	}
	const capacity = 12
	var running []string
	admitted := map[string]int{}
	for step := 0; step < 3000; step++ {
		for len(running) < capacity {
			it, ok := q.Pop()
			if !ok {
				t.Fatal("ran dry")
			}
			running = append(running, it.Customer)
			admitted[it.Customer]++
		}
		k := r.IntN(len(running)) // one random Agenda finishes
		q.Release(running[k])
		running = append(running[:k], running[k+1:]...)
	}
	total := admitted["a"] + admitted["b"] + admitted["c"]
	for c, w := range weights {
		share, want := float64(admitted[c])/float64(total), float64(w)/6
		if share < want-0.03 || share > want+0.03 {
			t.Errorf("customer %s got %.3f of admissions, want %.3f ± 0.03 (%v)", c, share, want, admitted)
		}
	}
}

// TestOldest: whatever the order of admission, Oldest is the earliest Since still pending,
// through pushes, updates, removals, pops and Head.
func TestOldest(t *testing.T) {
	for _, alg := range []string{FIFO, Priority, Fairness} {
		t.Run(alg, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 8))
			q := New(Policy{Algorithm: alg, AgingInterval: time.Minute, AgingStep: 1})
			pending := map[string]time.Time{}
			for step := 0; step < 20000; step++ { // enough for Priority to compact its arrivals
				switch k := fmt.Sprintf("k%03d", r.IntN(300)); r.IntN(4) {
				case 0, 1:
					it := item(k, fmt.Sprintf("c%d", r.IntN(5)), int32(r.IntN(10)), time.Duration(r.IntN(10000))*time.Second)
					q.Push(it)
					pending[k] = it.Since
				case 2:
					q.Remove(Key{Name: k})
					delete(pending, k)
				default:
					if it, ok := q.Pop(); ok {
						delete(pending, it.Key.Name)
						q.Release(it.Customer)
					}
					q.Head(3)
				}
				want, wantOK := time.Time{}, false
				for _, since := range pending {
					if !wantOK || since.Before(want) {
						want, wantOK = since, true
					}
				}
				if got, ok := q.Oldest(); ok != wantOK || !got.Equal(want) {
					t.Fatalf("step %d: Oldest() = %v, %v; want %v, %v", step, got, ok, want, wantOK)
				}
			}
		})
	}
}
