package matching

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
)

func ins(name string, mutate func(*popv1.InsightSpec)) *popv1.Insight {
	i := builders.MakeInsight(name, "pop-system").Obj()
	if mutate != nil {
		mutate(&i.Spec)
	}
	return i
}

func TestMatch(t *testing.T) {
	acme := map[string]string{popv1.CustomerLabel: "acme"}
	agenda := builders.MakeAgenda("ag", "team-a").Label("lane", "urgent").
		Params(map[string]any{"tier": "gold", "n": 3}).Op("probe", "ffprobe").Obj()
	all := []*popv1.Insight{
		ins("catch-all", func(s *popv1.InsightSpec) { s.Default = true }),
		ins("by-type", func(s *popv1.InsightSpec) { s.OperationTypes = []string{"ffprobe"}; s.Precedence = 1 }),
		ins("by-label", func(s *popv1.InsightSpec) {
			s.AgendaSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"lane": "urgent"}}
			s.Precedence = 5
		}),
		ins("by-params", func(s *popv1.InsightSpec) { s.Params = []string{"tier=gold", "n=3"}; s.Precedence = 5 }),
		ins("wrong-params", func(s *popv1.InsightSpec) { s.Params = []string{"tier=silver"}; s.Precedence = 9 }),
		ins("other-ns-only", func(s *popv1.InsightSpec) { s.NamespaceSelector = nil; s.Precedence = 99 }),
		ins("acme-only", func(s *popv1.InsightSpec) {
			s.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{popv1.CustomerLabel: "globex"}}
			s.Precedence = 50
		}),
	}
	cases := map[string]struct {
		mutate   func(*popv1.Agenda)
		insights []*popv1.Insight
		want     string
		why      string
	}{
		"highest precedence, then name":       {insights: all, want: "by-label"},
		"params.defaultInsight picks a match": {insights: all, mutate: setParam("defaultInsight", "by-type"), want: "by-type"},
		"default only when nothing else fits": {insights: all[:1], want: "catch-all"},
		"no match, no default":                {insights: all[4:], why: "no Insight matches this Agenda"},
		"explicit name, operator namespace":   {insights: all, mutate: func(a *popv1.Agenda) { a.Spec.Insight = "wrong-params" }, want: "wrong-params"},
		"explicit must select the namespace":  {insights: all, mutate: func(a *popv1.Agenda) { a.Spec.Insight = "pop-system/acme-only" }, why: "does not select namespace team-a"},
		"explicit that does not exist":        {insights: all, mutate: func(a *popv1.Agenda) { a.Spec.Insight = "nope" }, why: `"nope" named by spec.insight does not exist`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ag := agenda.DeepCopy()
			if tc.mutate != nil {
				tc.mutate(ag)
			}
			got, why := Match(ag, acme, tc.insights, "pop-system")
			if tc.want != "" {
				if got == nil || got.Name != tc.want {
					t.Fatalf("Match = %v (%s), want %s", got, why, tc.want)
				}
				return
			}
			if got != nil {
				t.Fatalf("Match = %s, want none", got.Name)
			}
			if !strings.Contains(why, tc.why) {
				t.Errorf("why = %q, want it to contain %q", why, tc.why)
			}
		})
	}
}

func setParam(k, v string) func(*popv1.Agenda) {
	return func(a *popv1.Agenda) {
		a.Spec.Params = builders.JSON(map[string]any{"tier": "gold", "n": 3, k: v})
	}
}
