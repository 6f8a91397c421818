package scheduler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
)

// localInsight serves only its own namespace, "team", where these tests' Agendas live.
func localInsight(name string, capacity int32) *popv1.Insight {
	w := builders.MakeInsight(name, "team").Capacity(capacity)
	w.Spec.NamespaceSelector = nil
	return w.Obj()
}

// TestDeletedInsightAdmitsNothing: an Insight deleted while it has admitted Agendas keeps
// counting them (a re-created Insight must), but it admits nothing more once they finish.
func TestDeletedInsightAdmitsNothing(t *testing.T) {
	w := newWorld(t)
	w.addNamespace("team", "acme")
	w.addInsight(localInsight("serial", 1))
	one := w.addAgenda("one", "team", 0)
	two := w.addAgenda("two", "team", 1)
	s := w.scheduler()
	w.settle(s)
	if !w.isAdmitted(one) || w.isAdmitted(two) {
		t.Fatalf("before the deletion: admitted %v, want [one]", w.admitted)
	}

	w.deleteInsight(types.NamespacedName{Namespace: "team", Name: "serial"})
	w.settle(s)
	w.finish(one)
	w.settle(s)
	if w.isAdmitted(two) {
		t.Errorf("a deleted Insight admitted %s", two)
	}
}

// TestRecreatedInsightCountsWhatIsStillAdmitted: Agendas admitted by an Insight that was
// deleted and created again hold its capacity, with or without a scheduler restart between.
func TestRecreatedInsightCountsWhatIsStillAdmitted(t *testing.T) {
	for name, restart := range map[string]bool{"same scheduler": false, "after a restart": true} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.addNamespace("team", "acme")
			w.addInsight(localInsight("serial", 1))
			one := w.addAgenda("one", "team", 0)
			s := w.scheduler()
			w.settle(s)

			w.deleteInsight(types.NamespacedName{Namespace: "team", Name: "serial"})
			w.settle(s)
			if restart {
				s = w.scheduler()
				w.settle(s)
			}
			w.addInsight(localInsight("serial", 1))
			two := w.addAgenda("two", "team", 1)
			w.settle(s)
			if w.isAdmitted(two) {
				t.Errorf("admitted %s while %s still runs under capacity 1", two, one)
			}
			if len(w.overCapacity) > 0 {
				t.Errorf("admissions past capacity: %v", w.overCapacity)
			}

			w.finish(one)
			w.settle(s)
			if !w.isAdmitted(two) {
				t.Errorf("%s not admitted after %s finished", two, one)
			}
		})
	}
}

// TestDeletedInsightHandsItsQueueOn: Agendas waiting in a deleted Insight are matched
// again, and taken by the next Insight that fits; the deleted one admits none of them.
func TestDeletedInsightHandsItsQueueOn(t *testing.T) {
	w := newWorld(t)
	w.addNamespace("team", "acme")
	first := localInsight("first", 1)
	first.Spec.Precedence = 10
	w.addInsight(first)
	w.addInsight(localInsight("second", 1))
	one := w.addAgenda("one", "team", 0)
	two := w.addAgenda("two", "team", 1)
	three := w.addAgenda("three", "team", 2)
	s := w.scheduler()
	w.settle(s)

	w.deleteInsight(types.NamespacedName{Namespace: "team", Name: "first"})
	w.settle(s)
	w.finish(one)
	w.settle(s)

	got := map[types.NamespacedName]string{}
	for _, key := range w.admitted {
		got[key] = w.agendas[key].Status.Insight
	}
	want := map[types.NamespacedName]string{one: "team/first", two: "team/second"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("admissions (-want +got):\n%s", diff)
	}
	if w.isAdmitted(three) {
		t.Errorf("%s admitted past the capacity of team/second", three)
	}
}
