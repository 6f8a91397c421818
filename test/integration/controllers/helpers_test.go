package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

// newNamespace makes a namespace for one test with an "echo" HandlerType in it.
func newNamespace(prefix string) string {
	GinkgoHelper()
	ns, err := env.CreateNamespace(ctx, prefix, map[string]string{popv1.CustomerLabel: prefix + "-customer"})
	Expect(err).NotTo(HaveOccurred())
	Expect(env.Client.Create(ctx, builders.MakeHandlerType("echo", ns, "pop-handlers/echo:dev").Obj())).To(Succeed())
	return ns
}

// admit does what the scheduler does: Admitted=True with the admission time.
func admit(ag *popv1.Agenda) {
	GinkgoHelper()
	key := client.ObjectKeyFromObject(ag)
	Eventually(func(g Gomega) {
		var cur popv1.Agenda
		g.Expect(env.Client.Get(ctx, key, &cur)).To(Succeed())
		g.Expect(meta.IsStatusConditionTrue(cur.Status.Conditions, popv1.AgendaAccepted)).To(BeTrue(), "not accepted: %v", cur.Status.Conditions)
		meta.SetStatusCondition(&cur.Status.Conditions, metav1.Condition{
			Type: popv1.AgendaAdmitted, Status: metav1.ConditionTrue, Reason: popv1.ReasonAdmittedByScheduler,
			Message: "admitted by the test", ObservedGeneration: cur.Generation,
		})
		now := metav1.Now()
		cur.Status.AdmissionTime = &now
		g.Expect(env.Client.Status().Update(ctx, &cur)).To(Succeed())
	}, framework.Timeout, framework.Interval).Should(Succeed())
}

// createAndAdmit creates an Agenda and admits it.
func createAndAdmit(ag *popv1.Agenda) {
	GinkgoHelper()
	Expect(env.Client.Create(ctx, ag)).To(Succeed())
	admit(ag)
}

// getAgenda reads an Agenda straight from the API server.
func getAgenda(g Gomega, ag *popv1.Agenda) *popv1.Agenda {
	var cur popv1.Agenda
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ag), &cur)).To(Succeed())
	return &cur
}

// waitForPhase waits until the Agenda reaches phase and returns it.
func waitForPhase(ag *popv1.Agenda, phase popv1.AgendaPhase) *popv1.Agenda {
	GinkgoHelper()
	var cur *popv1.Agenda
	Eventually(func(g Gomega) {
		cur = getAgenda(g, ag)
		g.Expect(cur.Status.Phase).To(Equal(phase), "operations: %+v", cur.Status.Operations)
	}, framework.Timeout, framework.Interval).Should(Succeed())
	return cur
}

// opStatus finds one operation's status.
func opStatus(ag *popv1.Agenda, name string) popv1.OperationStatus {
	for _, o := range ag.Status.Operations {
		if o.Name == name {
			return o
		}
	}
	return popv1.OperationStatus{}
}

// podsOf lists an Agenda's Pods, optionally of one operation.
func podsOf(g Gomega, ag *popv1.Agenda, op string) []corev1.Pod {
	var list corev1.PodList
	labels := client.MatchingLabels{popv1.AgendaLabel: ag.Name}
	if op != "" {
		labels[popv1.OperationLabel] = op
	}
	g.Expect(env.Client.List(ctx, &list, client.InNamespace(ag.Namespace), labels)).To(Succeed())
	return list.Items
}

func duration(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

// waitAllSucceeded waits until every Agenda of ns succeeded. Specs that leave Agendas
// running call it last, so that none of them ends inside a later spec's window: the
// metrics specs count finished Agendas cluster-wide.
func waitAllSucceeded(ns string, within time.Duration) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		var list popv1.AgendaList
		g.Expect(env.Client.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
		for _, ag := range list.Items {
			g.Expect(ag.Status.Phase).To(Equal(popv1.PhaseSucceeded), ag.Name)
		}
	}, within, framework.Interval).Should(Succeed())
}
