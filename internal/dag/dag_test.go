package dag

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
)

func TestBuildErrors(t *testing.T) {
	cases := map[string]struct {
		agenda *builders.AgendaWrapper
		want   []string
	}{
		"unknown dependsOn": {
			agenda: builders.MakeAgenda("a", "ns").Op("a", "t").Op("b", "t").DependsOn("a", "x"),
			want:   []string{`spec.operations[1].dependsOn[1]: Invalid value: "x": unknown operation "x"`},
		},
		"self dependency": {
			agenda: builders.MakeAgenda("a", "ns").Op("a", "t").DependsOn("a"),
			want:   []string{`spec.operations[0].dependsOn[0]: Invalid value: "a": an operation cannot depend on itself`},
		},
		"self reference": {
			agenda: builders.MakeAgenda("a", "ns").Op("a", "t", map[string]any{"x": "@<a.out>"}),
			want:   []string{`spec.operations[0].payload.x: Invalid value: "a": @<a.out>: an operation cannot reference its own output`},
		},
		"reference to an unknown operation": {
			agenda: builders.MakeAgenda("a", "ns").Op("a", "t", map[string]any{"l": []any{1, "@<ghost.out::/x>"}}),
			want:   []string{`spec.operations[0].payload.l[1]: Invalid value: "ghost": unknown operation "ghost"`},
		},
		"reference to an unknown source": {
			agenda: builders.MakeAgenda("a", "ns").Op("a", "t", "@<pop.nothing>"),
			want:   []string{`spec.operations[0].payload: Invalid value: "@<pop.nothing>": unknown source "pop.nothing"`},
		},
		"malformed reference": {
			agenda: builders.MakeAgenda("a", "ns").Op("a", "t", map[string]any{"k": "@<b.out"}),
			want:   []string{`spec.operations[0].payload.k: Invalid value: "@<b.out": unterminated reference`},
		},
		"two-node cycle names it": {
			agenda: builders.MakeAgenda("a", "ns").Op("a", "t").Op("b", "t", "@<c.out>").Op("c", "t").DependsOn("b"),
			want:   []string{`spec.operations[1]: Invalid value: "b": dependency cycle: b -> c -> b`},
		},
		"duplicate names": {
			agenda: builders.MakeAgenda("a", "ns").Op("a", "t").Op("a", "t"),
			want:   []string{`spec.operations[1].name: Duplicate value: "a"`},
		},
		"POP params.dependsOn unknown": {
			agenda: agendaWithParams(`{"dependsOn": "a, nope"}`),
			want:   []string{`spec.operations[1].params.dependsOn: Invalid value: "nope": unknown operation "nope"`},
		},
		"POP params.dependsOn not a string": {
			agenda: agendaWithParams(`{"dependsOn": ["a"]}`),
			want:   []string{`spec.operations[1].params.dependsOn: Invalid value: "": must be a comma-separated string`},
		},
		"rerun of an unknown operation": {
			agenda: builders.MakeAgenda("a", "ns").Op("a", "t").Rerun("1", popv1.RerunOperations, "zz"),
			want:   []string{`spec.rerun.operations[0]: Invalid value: "zz": unknown operation "zz"`},
		},
		"when that does not compile": {
			agenda: builders.MakeAgenda("a", "ns").Op("a", "t").Op("b", "t").Op("c", "t").When("ops.a.phase ==").Op("d", "t"),
			want:   []string{`spec.operations[2].when: Invalid value: "ops.a.phase ==": ERROR: <input>:1:15: Syntax error`},
		},
		"when that is not boolean": {
			agenda: builders.MakeAgenda("a", "ns").Op("a", "t").Op("b", "t").When(`"yes"`),
			want:   []string{`spec.operations[1].when: Invalid value: "\"yes\"": must be a boolean expression, not string`},
		},
		"when reading an unknown operation": {
			agenda: builders.MakeAgenda("a", "ns").Op("a", "t").Op("b", "t").When(`ops.ghost.phase == "Succeeded"`),
			want:   []string{`spec.operations[1].when: Invalid value: "ghost": unknown operation "ghost"`},
		},
		"when reading its own operation": {
			agenda: builders.MakeAgenda("a", "ns").Op("a", "t").When(`ops.a.phase == "Succeeded"`),
			want:   []string{`spec.operations[0].when: Invalid value: "a": a condition cannot read its own operation`},
		},
		"when closing a cycle": {
			agenda: builders.MakeAgenda("a", "ns").Op("a", "t", "@<b.out>").Op("b", "t").When(`ops.a.phase == "Failed"`),
			want:   []string{`dependency cycle: a -> b -> a`},
		},
		"after an unknown operation": {
			agenda: withAfter(builders.MakeAgenda("a", "ns").Op("a", "t").Op("b", "t"), 1, popv1.Requirement{Operation: "zz", Outcome: popv1.OutcomeFailed}),
			want:   []string{`spec.operations[1].after[0].operation: Invalid value: "zz": unknown operation "zz"`},
		},
		"after with an unknown outcome": {
			agenda: withAfter(builders.MakeAgenda("a", "ns").Op("a", "t").Op("b", "t"), 1, popv1.Requirement{Operation: "a", Outcome: "Maybe"}),
			want:   []string{`spec.operations[1].after[0].outcome: Unsupported value: "Maybe"`},
		},
		"a main operation depending on a finally one": {
			agenda: withFinally(builders.MakeAgenda("a", "ns").Op("a", "t").Op("fin", "t").Op("b", "t", "@<fin.out>"), 1),
			want:   []string{`spec.operations[2]: Invalid value: "b": depends on finally operation "fin": only a finally operation may`},
		},
		"forEach neither an array nor a whole reference": {
			agenda: builders.MakeAgenda("a", "ns").Op("scan", "t").Op("b", "t").Op("encode", "t").ForEach("segments @<scan.out>"),
			want:   []string{`spec.operations[2].forEach: Invalid value: "segments @<scan.out>": must be a JSON array or a whole reference`},
		},
		"forEach an object": {
			agenda: builders.MakeAgenda("a", "ns").Op("encode", "t").ForEach(map[string]any{"a": 1}),
			want:   []string{`spec.operations[0].forEach: Invalid value: "{\"a\":1}": must be a JSON array or a whole reference such as @<scan.out::/segments>, got an object`},
		},
		"forEach reading an unknown operation": {
			agenda: builders.MakeAgenda("a", "ns").Op("encode", "t").ForEach("@<ghost.out::/x>"),
			want:   []string{`spec.operations[0].forEach: Invalid value: "@<ghost.out::/x>": unknown operation "ghost"`},
		},
		"forEach reading its own output": {
			agenda: builders.MakeAgenda("a", "ns").Op("encode", "t").ForEach("@<encode.out>"),
			want:   []string{`spec.operations[0].forEach: Invalid value: "@<encode.out>": a forEach cannot read its own operation's output`},
		},
		"forEach reading a token": {
			agenda: builders.MakeAgenda("a", "ns").Op("encode", "t").ForEach("@<pop.agendaId>"),
			want:   []string{`spec.operations[0].forEach: Invalid value: "@<pop.agendaId>": @<pop.agendaId>: a forEach reads an operation's output`},
		},
		"forEach of more than 10000 literal items": {
			agenda: builders.MakeAgenda("a", "ns").Op("encode", "t").ForEach(make([]any, 10001)),
			want:   []string{`spec.operations[0].forEach: Invalid value: "[null,null,null,null,null,null,null,null,null,null,null,null,nul...": forEach has 10001 items; at most 10000`},
		},
		"literal forEach items over the Agenda's bound together": {
			agenda: builders.MakeAgenda("a", "ns").Op("a", "t").ForEach(make([]any, 6000)).Op("b", "t").ForEach(make([]any, 6000)),
			want:   []string{`spec.operations[1].forEach: Too many: 12000: must have at most 10000 items`},
		},
		"@<item> outside a forEach operation": {
			agenda: builders.MakeAgenda("a", "ns").Op("a", "t", map[string]any{"seg": "@<item::/uri>"}),
			want:   []string{`spec.operations[0].payload.seg: Invalid value: "@<item::/uri>": @<item> exists only in the payload of an operation with forEach`},
		},
		"@<pop.index> outside a forEach operation": {
			agenda: builders.MakeAgenda("a", "ns").Op("a", "t", "part @<pop.index>"),
			want:   []string{`spec.operations[0].payload: Invalid value: "@<pop.index>": @<pop.index> exists only in the payload of an operation with forEach`},
		},
		"@<pop.phase> outside a finally operation": {
			agenda: builders.MakeAgenda("a", "ns").Op("a", "t").Op("b", "t", map[string]any{"p": "@<pop.phase>", "f": "@<pop.failed>"}),
			want: []string{
				`spec.operations[1].payload.f: Invalid value: "@<pop.failed>": @<pop.failed> exists only in the payload of a finally operation`,
				`spec.operations[1].payload.p: Invalid value: "@<pop.phase>": @<pop.phase> exists only in the payload of a finally operation`,
			},
		},
		"every error is reported": {
			agenda: builders.MakeAgenda("a", "ns").Op("a", "t", "@<x.out>").DependsOn("y").Op("b", "t", "@<pop.bad>"),
			want: []string{
				`spec.operations[0].dependsOn[0]: Invalid value: "y"`,
				`spec.operations[0].payload: Invalid value: "x": unknown operation "x"`,
				`spec.operations[1].payload: Invalid value: "@<pop.bad>"`,
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ag := tc.agenda.Obj()
			g, errs := Build(&ag.Spec)
			if g != nil {
				t.Fatal("want no graph for an invalid spec")
			}
			if len(errs) != len(tc.want) {
				t.Fatalf("got %d errors, want %d: %v", len(errs), len(tc.want), errs)
			}
			for i, want := range tc.want {
				if !strings.Contains(errs[i].Error(), want) {
					t.Errorf("error %d = %q, want it to contain %q", i, errs[i].Error(), want)
				}
			}
		})
	}
}

func agendaWithParams(params string) *builders.AgendaWrapper {
	w := builders.MakeAgenda("a", "ns").Op("a", "t").Op("b", "t")
	w.Spec.Operations[1].Params = builders.JSON(nil)
	w.Spec.Operations[1].Params.Raw = []byte(params)
	return w
}

// diamond: probe -> (thumb, hash) -> publish, with every kind of dependency.
func diamond() *popv1.Agenda {
	w := builders.MakeAgenda("d", "ns").
		Op("probe", "t", map[string]any{"id": "@<pop.agendaId>", "a": "@<agenda.params::/asset>"}).
		Op("thumb", "t", map[string]any{"at": "@<probe.out::/duration>"}).
		Op("hash", "t").DependsOn("probe").
		Op("publish", "t", map[string]any{"t": "thumb is @<thumb.out::/url?none>"})
	w.Spec.Operations[3].Params = builders.JSON(map[string]any{"dependsOn": "hash"})
	return w.Obj()
}

func TestGraph(t *testing.T) {
	ag := diamond()
	g, errs := Build(&ag.Spec)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	deps := map[string][]string{}
	for i := 0; i < g.Len(); i++ {
		for _, d := range g.Deps(i) {
			deps[g.Name(i)] = append(deps[g.Name(i)], g.Name(d))
		}
	}
	want := map[string][]string{"thumb": {"probe"}, "hash": {"probe"}, "publish": {"thumb", "hash"}}
	if diff := cmp.Diff(want, deps); diff != "" {
		t.Errorf("deps (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{0, 1, 2, 3}, g.TopologicalOrder()); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{1, 3}, g.Descendants(1)); diff != "" {
		t.Errorf("Descendants(thumb) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{0, 1, 2, 3}, g.Descendants(0)); diff != "" {
		t.Errorf("Descendants(probe) (-want +got):\n%s", diff)
	}
}

func TestReady(t *testing.T) {
	ag := diamond()
	g, _ := Build(&ag.Spec)
	cases := map[string]struct {
		succeeded []int
		running   []int
		want      []int
	}{
		"start: only the root":                {want: []int{0}},
		"root done: both branches together":   {succeeded: []int{0}, want: []int{1, 2}},
		"one branch done: fan-in still waits": {succeeded: []int{0, 1}, running: []int{2}, want: nil},
		"both done: fan-in ready":             {succeeded: []int{0, 1, 2}, want: []int{3}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			state := map[int]string{}
			for _, i := range tc.succeeded {
				state[i] = "ok"
			}
			for _, i := range tc.running {
				state[i] = "run"
			}
			ok := func(i int) bool { return state[i] == "ok" }
			got := g.Ready(func(i int) bool { return state[i] == "" }, ok, ok)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Ready (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConditionDependencies: the operations a when reads are optional dependencies (they must
// end, not succeed); a plain reference to the same one keeps it required.
func TestConditionDependencies(t *testing.T) {
	ag := builders.MakeAgenda("a", "ns").Op("scan", "t").Op("probe", "t").
		Op("encode", "t", "@<probe.out>").When(`ops.scan.output.count > 2 && ops["probe"].phase == "Succeeded"`).
		Op("plain", "t").Obj()
	g, errs := Build(&ag.Spec)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if diff := cmp.Diff([]int{0, 1}, g.Deps(2)); diff != "" {
		t.Errorf("Deps(encode) (-want +got):\n%s", diff)
	}
	if !g.Optional(2, 0) || g.Optional(2, 1) {
		t.Errorf("Optional(encode, scan) = %v, want true; Optional(encode, probe) = %v, want false", g.Optional(2, 0), g.Optional(2, 1))
	}
	if g.Condition(2) == nil || g.Condition(3) != nil {
		t.Errorf("Condition(encode) = %v, want compiled; Condition(plain) = %v, want nil", g.Condition(2), g.Condition(3))
	}
}

func withAfter(w *builders.AgendaWrapper, i int, reqs ...popv1.Requirement) *builders.AgendaWrapper {
	w.Spec.Operations[i].After = reqs
	return w
}

func withFinally(w *builders.AgendaWrapper, idx ...int) *builders.AgendaWrapper {
	for _, i := range idx {
		w.Spec.Operations[i].Finally = true
	}
	return w
}

// TestOutcomesAndFinally: after Succeeded is a required dependency, any other outcome an
// optional one (it must end); a finally operation waits for every other operation that is
// not finally, to end; finally operations may depend on each other.
func TestOutcomesAndFinally(t *testing.T) {
	w := builders.MakeAgenda("a", "ns").Op("a", "t").Op("comp", "t").Op("next", "t").Op("fin", "t").Op("fin2", "t").DependsOn("fin")
	withAfter(w, 1, popv1.Requirement{Operation: "a", Outcome: popv1.OutcomeFailed})
	withAfter(w, 2, popv1.Requirement{Operation: "a"})
	ag := withFinally(w, 3, 4).Obj()
	g, errs := Build(&ag.Spec)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	deps := map[string][]int{}
	for i := 0; i < g.Len(); i++ {
		deps[g.Name(i)] = g.Deps(i)
	}
	want := map[string][]int{"a": nil, "comp": {0}, "next": {0}, "fin": {0, 1, 2}, "fin2": {0, 1, 2, 3}}
	if diff := cmp.Diff(want, deps); diff != "" {
		t.Errorf("deps (-want +got):\n%s", diff)
	}
	if !g.Optional(1, 0) || g.Optional(2, 0) || !g.Optional(3, 2) || g.Optional(4, 3) {
		t.Errorf("Optional: comp->a %v (want true), next->a %v (want false), fin->next %v (want true), fin2->fin %v (want false)",
			g.Optional(1, 0), g.Optional(2, 0), g.Optional(3, 2), g.Optional(4, 3))
	}
	if !g.Finally(3) || g.Finally(0) || len(g.After(1)) != 1 {
		t.Errorf("Finally(fin) %v, Finally(a) %v, After(comp) %v", g.Finally(3), g.Finally(0), g.After(1))
	}
}
