package scheduler

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// TestRerunSeenWithoutItsEndReleasesTheSlot: when the scheduler reads an admitted Agenda
// only after it finished and was sent back to the queue by a rerun (both writes within
// one cycle), the Agenda no longer holds its Insight's capacity.
func TestRerunSeenWithoutItsEndReleasesTheSlot(t *testing.T) {
	w := newWorld(t)
	w.addNamespace("team", "acme")
	w.addInsight(localInsight("serial", 1))
	one := w.addAgenda("one", "team", 0)
	s := w.scheduler()
	w.settle(s)
	two := w.addAgenda("two", "team", 1)
	w.finish(one)
	w.setAgendaStatus(one, func(st *popv1.AgendaStatus) { // what execution.Rerun leaves
		meta.RemoveStatusCondition(&st.Conditions, popv1.AgendaSucceeded)
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: popv1.AgendaAdmitted, Status: metav1.ConditionFalse,
			Reason: popv1.ReasonRerunRequested, LastTransitionTime: metav1.NewTime(t0.Add(time.Minute))})
		st.ObservedRerunID, st.AdmissionTime = "again", nil
	})
	w.settle(s)
	if !w.isAdmitted(two) {
		t.Errorf("%s not admitted: the rerun %s still holds the only slot (%v)", two, one, s.insights[InsightKey{Namespace: "team", Name: "serial"}].admitted)
	}
}
