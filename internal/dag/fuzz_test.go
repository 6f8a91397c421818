package dag

import (
	"fmt"
	"strings"
	"testing"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
)

// specFromBytes turns fuzz input into an Agenda spec: up to 12 operations whose
// dependencies (dependsOn or references) are picked by the bytes, plus one free-text
// payload string that may hold anything.
func specFromBytes(data []byte, text string) *popv1.AgendaSpec {
	n := 1
	if len(data) > 0 {
		n = int(data[0])%12 + 1
	}
	w := builders.MakeAgenda("f", "ns")
	for i := 0; i < n; i++ {
		w.Op(fmt.Sprintf("op%d", i), "t", map[string]any{"free": text})
	}
	for k := 1; k+1 < len(data); k += 2 {
		from, to := int(data[k])%(n+1), int(data[k+1])%(n+1) // n means "unknown"
		if from == n {
			continue
		}
		target := fmt.Sprintf("op%d", to)
		op := &w.Spec.Operations[from]
		if data[k]&0x80 != 0 {
			op.Payload = builders.JSON(map[string]any{"r": "@<" + target + ".out::/x?>", "free": text})
		} else {
			op.DependsOn = append(op.DependsOn, target)
		}
	}
	// The last byte's 0x40 bit makes the free text operation 0's forEach (a reference, or
	// not), its 0x20 bit an array literal of as many items as the byte says.
	if last := len(data) - 1; last > 0 && data[last]&0x40 != 0 {
		w.Spec.Operations[0].ForEach = builders.JSON(text)
	} else if last > 0 && data[last]&0x20 != 0 {
		w.Spec.Operations[0].ForEach = builders.JSON(make([]any, int(data[last])))
	}
	return &w.Obj().Spec
}

func FuzzBuild(f *testing.F) {
	f.Add([]byte{3, 1, 0, 2, 1}, "plain")
	f.Add([]byte{2, 0, 1, 1, 0}, "@<op0.out>")
	f.Add([]byte{5, 0x81, 0, 0x82, 1, 4, 3}, "x @<pop.agendaId> @<")
	// Deep nesting reaches a payload through a reference's JSON default: at the refs
	// package's limit of 100 levels, over it, and 6,000 levels.
	for _, depth := range []int{100, 101, 6000} {
		f.Add([]byte{2, 0x81, 0}, "@<op0.out::/x?"+strings.Repeat("[", depth)+strings.Repeat("]", depth)+">")
	}
	// forEach: a reference to another operation, to itself, to params, a token, @<item> in
	// the payload of the operation with forEach and of one without.
	for _, text := range []string{"@<op1.out::/segments>", "@<op0.out>", "@<agenda.params::/x>", "@<pop.index>", "@<item::/a>", "x @<op1.out>"} {
		f.Add([]byte{3, 1, 2, 0x40}, text)
	}
	f.Add([]byte{3, 1, 2, 0x3f}, "@<item>")
	f.Fuzz(func(t *testing.T, data []byte, text string) {
		spec := specFromBytes(data, text)
		g, errs := Build(spec)
		if g == nil {
			if len(errs) == 0 {
				t.Fatal("no graph and no error")
			}
			for _, e := range errs {
				if !strings.HasPrefix(e.Field, "spec.") {
					t.Fatalf("error without a spec field path: %v", e)
				}
			}
			return
		}
		if len(errs) > 0 {
			t.Fatalf("graph returned with errors %v", errs)
		}
		pos := make([]int, g.Len())
		order := g.TopologicalOrder()
		if len(order) != g.Len() {
			t.Fatalf("order has %d of %d operations", len(order), g.Len())
		}
		for k, i := range order {
			pos[i] = k
		}
		for i := 0; i < g.Len(); i++ {
			for _, d := range g.Deps(i) {
				if pos[d] >= pos[i] {
					t.Fatalf("%s ordered before its dependency %s", g.Name(i), g.Name(d))
				}
			}
		}
	})
}
