// Package dag turns an Agenda's operations into a dependency graph: dependencies are every
// <op>.out the payload references plus dependsOn (and POP's comma-separated
// params.dependsOn). A dependency named only by optional references (@<op.out?>) is
// optional: it must end, not succeed. It validates the graph with exact field paths and answers which
// operations are ready. It is pure: no client, no cluster.
package dag

import (
	"sort"

	"github.com/pop-operator/pop/internal/depends"
	"github.com/pop-operator/pop/internal/fanout"
	"github.com/pop-operator/pop/internal/when"
)

// Graph is a validated, acyclic dependency graph over an Agenda's operations, indexed in
// spec order.
type Graph struct {
	names      []string
	index      map[string]int
	deps       [][]int
	dependents [][]int
	// optional[i] holds the dependencies operation i reads only through optional references
	// (nil when it has none): it waits for them to end, not to succeed.
	optional []map[int]bool
	order    []int
	// conditions[i] is operation i's compiled when, nil without one.
	conditions []*when.Condition
	// after[i] is operation i's after requirements; finally[i] whether it is finally.
	after   [][]depends.Requirement
	finally []bool
	// forEach[i] is operation i's parsed forEach, nil without one.
	forEach []*fanout.ForEach
}

// After is operation i's after requirements (outcomes its dependencies must reach).
func (g *Graph) After(i int) []depends.Requirement {
	if g.after == nil {
		return nil
	}
	return g.after[i]
}

// Finally reports whether operation i is a finally (exit) operation.
func (g *Graph) Finally(i int) bool { return g.finally != nil && g.finally[i] }

// Condition is operation i's compiled when condition; nil when it has none.
func (g *Graph) Condition(i int) *when.Condition {
	if g.conditions == nil {
		return nil
	}
	return g.conditions[i]
}

// Len is the number of operations.
func (g *Graph) Len() int { return len(g.names) }

// Name is operation i's name.
func (g *Graph) Name(i int) string { return g.names[i] }

// Index returns an operation's index by name.
func (g *Graph) Index(name string) (int, bool) {
	i, ok := g.index[name]
	return i, ok
}

// Deps are the indexes operation i waits for, ascending.
func (g *Graph) Deps(i int) []int { return g.deps[i] }

// Dependents are the indexes that wait for operation i, ascending.
func (g *Graph) Dependents(i int) []int { return g.dependents[i] }

// Optional reports whether operation i reads dependency d only through optional references
// (@<d.out?>): it needs d to have ended, not to have succeeded.
func (g *Graph) Optional(i, d int) bool { return g.optional[i][d] }

// TopologicalOrder lists every index after all of its dependencies.
func (g *Graph) TopologicalOrder() []int { return g.order }

// Ready returns, in spec order, the operations for which waiting(i) holds, every required
// dependency succeeded and every optional one ended.
func (g *Graph) Ready(waiting, succeeded, ended func(i int) bool) []int {
	var ready []int
	for i := range g.names {
		if waiting(i) && g.depsMet(i, succeeded, ended) {
			ready = append(ready, i)
		}
	}
	return ready
}

func (g *Graph) depsMet(i int, succeeded, ended func(i int) bool) bool {
	for _, d := range g.deps[i] {
		if g.Optional(i, d) && !ended(d) || !g.Optional(i, d) && !succeeded(d) {
			return false
		}
	}
	return true
}

// Descendants returns the operations that depend, directly or through others, on any of
// roots; roots themselves are included. The result is in ascending index order.
func (g *Graph) Descendants(roots ...int) []int {
	return g.reach(roots, func(int, int) bool { return true })
}

// RequiredBy is Descendants through required dependencies only: the operations that cannot
// run once one of roots failed. One that reads a root only optionally runs anyway.
func (g *Graph) RequiredBy(roots ...int) []int {
	return g.reach(roots, func(dependent, dep int) bool { return !g.Optional(dependent, dep) })
}

// reach walks from roots to the dependents that follow(dependent, dep) allows.
func (g *Graph) reach(roots []int, follow func(dependent, dep int) bool) []int {
	seen := make([]bool, len(g.names))
	stack := append([]int(nil), roots...)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[n] {
			continue
		}
		seen[n] = true
		for _, m := range g.dependents[n] {
			if follow(m, n) {
				stack = append(stack, m)
			}
		}
	}
	var out []int
	for i, s := range seen {
		if s {
			out = append(out, i)
		}
	}
	return out
}

// newGraph builds the adjacency lists from per-operation dependency sets.
func newGraph(names []string, depSets []map[int]bool) *Graph {
	g := &Graph{names: names, index: make(map[string]int, len(names))}
	for i, n := range names {
		g.index[n] = i
	}
	g.deps = make([][]int, len(names))
	g.dependents = make([][]int, len(names))
	g.optional = make([]map[int]bool, len(names))
	for i, set := range depSets {
		for d, required := range set {
			g.deps[i] = append(g.deps[i], d)
			g.dependents[d] = append(g.dependents[d], i)
			if !required {
				if g.optional[i] == nil {
					g.optional[i] = map[int]bool{}
				}
				g.optional[i][d] = true
			}
		}
		sort.Ints(g.deps[i])
	}
	for i := range g.dependents {
		sort.Ints(g.dependents[i])
	}
	return g
}

// topoSort returns a topological order, or the indexes stuck in cycles.
func (g *Graph) topoSort() (order, stuck []int) {
	pending := make([]int, len(g.names))
	var queue []int
	for i := range g.names {
		pending[i] = len(g.deps[i])
		if pending[i] == 0 {
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		order = append(order, n)
		for _, m := range g.dependents[n] {
			pending[m]--
			if pending[m] == 0 {
				queue = append(queue, m)
			}
		}
	}
	for i, p := range pending {
		if p > 0 {
			stuck = append(stuck, i)
		}
	}
	return order, stuck
}

// findCycle returns one cycle through the stuck operations, starting and ending at the
// same index, found by walking dependencies until one repeats.
func (g *Graph) findCycle(stuck []int) []int {
	inStuck := make(map[int]bool, len(stuck))
	for _, s := range stuck {
		inStuck[s] = true
	}
	pos := map[int]int{}
	var path []int
	n := stuck[0]
	for {
		if p, ok := pos[n]; ok {
			return append(path[p:], n)
		}
		pos[n] = len(path)
		path = append(path, n)
		for _, d := range g.deps[n] {
			if inStuck[d] {
				n = d
				break
			}
		}
	}
}
