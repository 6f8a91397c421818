package scheduler

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// marks are what changed since the last cycle. Event handlers set them from the informers'
// goroutines; the cycle takes them. mu guards every field but wake, a channel.
type marks struct {
	mu sync.Mutex
	// agendas keeps event order, so that Agendas created in one second are numbered
	// (queue.Item.Seq) in the order the API server stored them; agendaSet dedups it.
	agendas   []AgendaKey
	agendaSet map[AgendaKey]bool
	insights  map[InsightKey]bool
	everyone  bool
	// wake has room for one signal: a cycle runs after any number of marks.
	wake chan struct{}
}

func newMarks() *marks {
	return &marks{agendaSet: map[AgendaKey]bool{}, insights: map[InsightKey]bool{}, wake: make(chan struct{}, 1)}
}

func (m *marks) agenda(key AgendaKey) {
	m.mu.Lock()
	if !m.agendaSet[key] {
		m.agendaSet[key] = true
		m.agendas = append(m.agendas, key)
	}
	m.mu.Unlock()
	m.signal()
}

func (m *marks) insight(key InsightKey) {
	m.mu.Lock()
	m.insights[key] = true
	m.mu.Unlock()
	m.signal()
}

// all asks the next cycle to rebuild from everything the cache holds.
func (m *marks) all() {
	m.mu.Lock()
	m.everyone = true
	m.mu.Unlock()
	m.signal()
}

// forgetAgendas drops the Agenda marks (the informers' initial lists, in no useful order).
func (m *marks) forgetAgendas() {
	m.mu.Lock()
	m.agendas, m.agendaSet = nil, map[AgendaKey]bool{}
	m.mu.Unlock()
}

// take returns and clears the marks.
func (m *marks) take() (agendas []types.NamespacedName, insights map[InsightKey]bool, all bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	agendas, insights, all = m.agendas, m.insights, m.everyone
	m.agendas, m.agendaSet, m.insights, m.everyone = nil, map[AgendaKey]bool{}, map[InsightKey]bool{}, false
	return agendas, insights, all
}

func (m *marks) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}
