package dag

import (
	"fmt"
	"testing"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/refs"
	"github.com/pop-operator/pop/test/builders"
)

// bigAgenda is a 1,000-operation Agenda in which every operation references two earlier
// outputs (one by pointer, one inside text) and the Agenda's params: a realistic worst case
// for validation and resolution.
func bigAgenda() *popv1.Agenda {
	w := builders.MakeAgenda("big", "ns").Params(map[string]any{"asset": "s3://bucket/key", "tier": "gold"})
	w.Op("op0", "t", map[string]any{"asset": "@<agenda.params::/asset>"})
	for i := 1; i < popv1.MaxOperations; i++ {
		w.Op(fmt.Sprintf("op%d", i), "t", map[string]any{
			"prev":  fmt.Sprintf("@<op%d.out::/value>", i-1),
			"label": fmt.Sprintf("from @<op%d.out::/name> for @<pop.agendaId>", i/2),
			"tier":  "@<agenda.params::/tier?silver>",
		})
	}
	return w.Obj()
}

func BenchmarkBuild1000(b *testing.B) {
	ag := bigAgenda()
	b.ReportAllocs()
	for b.Loop() {
		if _, errs := Build(&ag.Spec); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}

func BenchmarkResolve1000(b *testing.B) {
	ag := bigAgenda()
	params, _ := refs.Decode(ag.Spec.Params.Raw)
	outputs := map[string]any{}
	for i := range ag.Spec.Operations {
		outputs[fmt.Sprintf("op%d.out", i)] = map[string]any{"value": float64(i), "name": fmt.Sprintf("n%d", i)}
	}
	lookup := func(s string) (any, bool) {
		switch s {
		case refs.AgendaParams:
			return params, true
		case refs.TokenAgendaID:
			return "big", true
		}
		v, ok := outputs[s]
		return v, ok
	}
	b.ReportAllocs()
	for b.Loop() {
		for i := range ag.Spec.Operations {
			if _, err := refs.Resolve(ag.Spec.Operations[i].Payload.Raw, lookup); err != nil {
				b.Fatal(err)
			}
		}
	}
}
