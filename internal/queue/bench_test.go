package queue

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

const (
	benchPending   = 100_000
	benchCustomers = 1_000
)

func benchItems(n int) []Item {
	items := make([]Item, n)
	for i := range items {
		items[i] = Item{
			Key:      Key{Namespace: fmt.Sprintf("customer-%04d", i%benchCustomers), Name: fmt.Sprintf("agenda-%06d", i)},
			UID:      fmt.Sprintf("%08x-0000-0000-0000-%012x", i, i),
			Customer: fmt.Sprintf("customer-%04d", i%benchCustomers),
			Priority: int32(i % 7),
			Since:    t0.Add(time.Duration(i) * time.Millisecond),
		}
	}
	return items
}

func benchPolicy(alg string) Policy {
	return Policy{Algorithm: alg, AgingInterval: time.Minute, AgingStep: 1}
}

func filled(alg string, items []Item) Queue {
	q := New(benchPolicy(alg))
	for _, it := range items {
		q.Push(it)
	}
	return q
}

// BenchmarkAdmit pops the head of a queue of 100,000 pending Agendas from 1,000 customers
// and pushes a new arrival, so the queue keeps its size.
func BenchmarkAdmit(b *testing.B) {
	for _, alg := range []string{FIFO, Fairness, Priority} {
		b.Run(alg, func(b *testing.B) {
			items := benchItems(benchPending + 1_000_000)
			q := filled(alg, items[:benchPending])
			next := benchPending
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				it, _ := q.Pop()
				q.Release(it.Customer)
				q.Push(items[next%len(items)])
				next++
			}
		})
	}
}

// BenchmarkEnqueue pushes into a queue that already holds 100,000 Agendas.
func BenchmarkEnqueue(b *testing.B) {
	for _, alg := range []string{FIFO, Fairness, Priority} {
		b.Run(alg, func(b *testing.B) {
			items := benchItems(benchPending + 1_000_000)
			q := filled(alg, items[:benchPending])
			next := benchPending
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				q.Push(items[next%len(items)])
				q.Remove(items[(next-benchPending)%len(items)].Key)
				next++
			}
		})
	}
}

// BenchmarkMemoryPerEntry reports the heap bytes a queue holds per pending Agenda,
// including the item's strings.
func BenchmarkMemoryPerEntry(b *testing.B) {
	for _, alg := range []string{FIFO, Fairness, Priority} {
		b.Run(alg, func(b *testing.B) {
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				q := filled(alg, benchItems(benchPending))
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/benchPending, "bytes/entry")
				runtime.KeepAlive(q)
			}
		})
	}
}

// BenchmarkAdmitOne measures admission alone: popping the head of a queue that holds at
// least 100,000 pending Agendas from 1,000 customers.
func BenchmarkAdmitOne(b *testing.B) {
	for _, alg := range []string{FIFO, Fairness, Priority} {
		b.Run(alg, func(b *testing.B) {
			q := filled(alg, benchItems(benchPending+b.N))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, ok := q.Pop(); !ok {
					b.Fatal("empty")
				}
			}
		})
	}
}
