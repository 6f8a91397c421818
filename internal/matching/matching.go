// Package matching routes an Agenda to one Insight: an explicit spec.insight wins;
// otherwise the Insights whose namespaceSelector covers the Agenda's namespace and whose
// matchers all fit, highest precedence first, then by namespace/name; the original POP's
// params.defaultInsight picks among several matches; a default Insight catches the rest.
// It is pure: the caller passes the Insights and the namespace's labels.
package matching

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/refs"
)

// Key names an Insight as namespace/name.
func Key(ins *popv1.Insight) string { return ins.Namespace + "/" + ins.Name }

// Match returns the Insight the Agenda queues in, or nil and why none fits.
func Match(ag *popv1.Agenda, nsLabels map[string]string, insights []*popv1.Insight, operatorNamespace string) (*popv1.Insight, string) {
	params := agendaParams(ag)
	if ag.Spec.Insight != "" {
		return explicit(ag, nsLabels, insights, operatorNamespace)
	}
	var matches, defaults []*popv1.Insight
	for _, ins := range insights {
		if !selectsNamespace(ins, ag.Namespace, nsLabels) {
			continue
		}
		if ins.Spec.Default {
			defaults = append(defaults, ins)
			continue
		}
		if fits(ins, ag, params) {
			matches = append(matches, ins)
		}
	}
	if len(matches) == 0 {
		matches = defaults
	}
	if len(matches) == 0 {
		return nil, "no Insight matches this Agenda and no default Insight selects namespace " + ag.Namespace
	}
	sortByPrecedence(matches)
	if name, ok := params["defaultInsight"].(string); ok {
		for _, ins := range matches {
			if ins.Name == name || Key(ins) == name {
				return ins, ""
			}
		}
	}
	return matches[0], ""
}

func explicit(ag *popv1.Agenda, nsLabels map[string]string, insights []*popv1.Insight, operatorNamespace string) (*popv1.Insight, string) {
	want := []string{ag.Namespace + "/" + ag.Spec.Insight, operatorNamespace + "/" + ag.Spec.Insight}
	if strings.Contains(ag.Spec.Insight, "/") {
		want = []string{ag.Spec.Insight}
	}
	for _, key := range want {
		for _, ins := range insights {
			if Key(ins) != key {
				continue
			}
			if !selectsNamespace(ins, ag.Namespace, nsLabels) {
				return nil, fmt.Sprintf("Insight %s does not select namespace %s", key, ag.Namespace)
			}
			return ins, ""
		}
	}
	return nil, fmt.Sprintf("Insight %q named by spec.insight does not exist", ag.Spec.Insight)
}

// selectsNamespace: no selector means the Insight's own namespace only; {} means all.
func selectsNamespace(ins *popv1.Insight, namespace string, nsLabels map[string]string) bool {
	if ins.Spec.NamespaceSelector == nil {
		return ins.Namespace == namespace
	}
	return selectorMatches(ins.Spec.NamespaceSelector, nsLabels)
}

func selectorMatches(sel *metav1.LabelSelector, set map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false // an invalid selector selects nothing
	}
	return s.Matches(labels.Set(set))
}

// fits checks the mappers: Agenda labels, operation types, operation names, params.
func fits(ins *popv1.Insight, ag *popv1.Agenda, params map[string]any) bool {
	spec := &ins.Spec
	if spec.AgendaSelector != nil && !selectorMatches(spec.AgendaSelector, ag.Labels) {
		return false
	}
	if len(spec.OperationTypes) > 0 && !anyOperation(ag, func(op popv1.Operation) bool { return contains(spec.OperationTypes, op.Type) }) {
		return false
	}
	if len(spec.OperationNames) > 0 && !anyOperation(ag, func(op popv1.Operation) bool { return contains(spec.OperationNames, op.Name) }) {
		return false
	}
	for _, kv := range spec.Params {
		k, v, _ := strings.Cut(kv, "=")
		if got, ok := params[k]; !ok || scalarString(got) != v {
			return false
		}
	}
	return true
}

func anyOperation(ag *popv1.Agenda, pred func(popv1.Operation) bool) bool {
	for _, op := range ag.Spec.Operations {
		if pred(op) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func agendaParams(ag *popv1.Agenda) map[string]any {
	if ag.Spec.Params == nil {
		return nil
	}
	v, err := refs.Decode(ag.Spec.Params.Raw)
	if err != nil {
		return nil
	}
	m, _ := v.(map[string]any)
	return m
}

func scalarString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return ""
	default:
		return fmt.Sprint(t)
	}
}

func sortByPrecedence(list []*popv1.Insight) {
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].Spec.Precedence != list[j].Spec.Precedence {
			return list[i].Spec.Precedence > list[j].Spec.Precedence
		}
		return Key(list[i]) < Key(list[j])
	})
}
