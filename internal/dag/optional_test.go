package dag

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pop-operator/pop/test/builders"
)

// optionalGraph: probe; soft reads probe only optionally; hard reads it plainly too; listed
// names it in dependsOn besides an optional reference; late reads soft plainly.
func optionalGraph(t *testing.T) *Graph {
	t.Helper()
	ag := builders.MakeAgenda("a", "ns").
		Op("probe", "t").
		Op("soft", "t", map[string]any{"lang": "@<probe.out::/lang?en>", "all": "@<probe.out?>"}).
		Op("hard", "t", map[string]any{"lang": "@<probe.out::/lang?en>", "size": "@<probe.out::/size>"}).
		Op("listed", "t", "@<probe.out?>").DependsOn("probe").
		Op("late", "t", "@<soft.out>").Obj()
	g, errs := Build(&ag.Spec)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return g
}

// TestOptionalReferencesMakeOptionalDependencies: an operation whose only link to another is
// an optional reference waits for it to end, whatever the end; one plain reference or a
// dependsOn makes the dependency required.
func TestOptionalReferencesMakeOptionalDependencies(t *testing.T) {
	g := optionalGraph(t)
	for _, tc := range []struct {
		op, dep string
		want    bool
	}{{"soft", "probe", true}, {"hard", "probe", false}, {"listed", "probe", false}, {"late", "soft", false}} {
		i, _ := g.Index(tc.op)
		d, _ := g.Index(tc.dep)
		if got := g.Optional(i, d); got != tc.want {
			t.Errorf("Optional(%s, %s) = %v, want %v", tc.op, tc.dep, got, tc.want)
		}
	}

	waiting := func(i int) bool { return i != 0 }
	ended := func(i int) bool { return i == 0 }
	succeeded := func(int) bool { return false } // probe ended without succeeding
	if diff := cmp.Diff([]int{1}, g.Ready(waiting, succeeded, ended)); diff != "" {
		t.Errorf("Ready with probe failed (-want +got):\n%s", diff)
	}
	running := func(int) bool { return false }
	if got := g.Ready(waiting, succeeded, running); len(got) != 0 {
		t.Errorf("Ready while probe runs = %v, want none: an optional dependency is still waited for", got)
	}
	if diff := cmp.Diff([]int{0, 2, 3}, g.RequiredBy(0)); diff != "" {
		t.Errorf("RequiredBy(probe) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{0, 1, 2, 3, 4}, g.Descendants(0)); diff != "" {
		t.Errorf("Descendants(probe), which a rerun follows (-want +got):\n%s", diff)
	}
}
