package scheduler_test

import (
	"fmt"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

// newAgenda creates an Agenda of one operation and accepts it, as the Agenda controller
// would.
func newAgenda(name, ns string, priority int32) *popv1.Agenda {
	GinkgoHelper()
	ag := builders.MakeAgenda(name, ns).Op("only", "echo").Priority(priority).Obj()
	Expect(env.Client.Create(ctx, ag)).To(Succeed())
	setCondition(ag, popv1.AgendaAccepted, "Valid")
	return ag
}

// finish ends an Agenda as the Agenda controller would.
func finish(ag *popv1.Agenda) {
	GinkgoHelper()
	setCondition(ag, popv1.AgendaSucceeded, "Succeeded")
}

func setCondition(ag *popv1.Agenda, typ, reason string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ag), ag)).To(Succeed())
		meta.SetStatusCondition(&ag.Status.Conditions, metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: reason})
		g.Expect(env.Client.Status().Update(ctx, ag)).To(Succeed())
	}, timeout).Should(Succeed())
}

func isAdmitted(ag *popv1.Agenda) bool {
	return meta.IsStatusConditionTrue(ag.Status.Conditions, popv1.AgendaAdmitted)
}

func isFinished(ag *popv1.Agenda) bool {
	return meta.IsStatusConditionTrue(ag.Status.Conditions, popv1.AgendaSucceeded) ||
		meta.IsStatusConditionTrue(ag.Status.Conditions, popv1.AgendaFailed)
}

// admissionLog follows a namespace's Agendas through one watch, in the order the API
// server committed their changes, so that what it finds was true at some instant: not
// sampled between polls.
type admissionLog struct {
	mu sync.Mutex
	// admitted counts each Agenda's transitions to Admitted=True, by name.
	admitted map[string]int
	// running are the admitted, unfinished Agendas after the last event, and maxRunning
	// the most there ever were.
	running    map[string]bool
	maxRunning int
	order      []string
	stop       func()
}

// watchAdmissions starts an admission log of namespace ns.
func watchAdmissions(ns string) *admissionLog {
	GinkgoHelper()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: framework.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	w, err := wc.Watch(ctx, &popv1.AgendaList{}, client.InNamespace(ns))
	Expect(err).NotTo(HaveOccurred())
	l := &admissionLog{admitted: map[string]int{}, running: map[string]bool{}, stop: w.Stop}
	was := map[string]string{}
	go func() {
		for ev := range w.ResultChan() {
			ag, ok := ev.Object.(*popv1.Agenda)
			if !ok {
				continue
			}
			l.record(ag, ev.Type == watch.Deleted, was)
		}
	}()
	return l
}

// record takes one event. was holds each Agenda's admissionTime while it is admitted: an
// admission is a change to Admitted=True, or a new admissionTime while it stays True (a
// second scheduler admitting it again).
func (l *admissionLog) record(ag *popv1.Agenda, deleted bool, was map[string]string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := isAdmitted(ag) && !deleted
	at := ""
	if ag.Status.AdmissionTime != nil {
		at = ag.Status.AdmissionTime.String()
	}
	if before, ok := was[ag.Name]; now && (!ok || before != at) {
		l.admitted[ag.Name]++
		l.order = append(l.order, ag.Name)
	}
	if now {
		was[ag.Name] = at
	} else {
		delete(was, ag.Name)
	}
	if now && !isFinished(ag) {
		l.running[ag.Name] = true
	} else {
		delete(l.running, ag.Name)
	}
	l.maxRunning = max(l.maxRunning, len(l.running))
}

// check fails when an Agenda was admitted more often than once plus its reruns (by name),
// or more than capacity ran at once.
func (l *admissionLog) check(capacity int, reruns ...string) {
	GinkgoHelper()
	l.mu.Lock()
	defer l.mu.Unlock()
	allowed := map[string]int{}
	for _, name := range reruns {
		allowed[name]++
	}
	for name, n := range l.admitted {
		Expect(n).To(BeNumerically("<=", 1+allowed[name]), "%s admitted %d times (order %v)", name, n, l.order)
	}
	Expect(l.maxRunning).To(BeNumerically("<=", capacity), "at one point %d admitted Agendas ran (order %v)", l.maxRunning, l.order)
}

// admissions returns the admissions so far, by name, first first.
func (l *admissionLog) admissions() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.order...)
}

func (l *admissionLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("admitted %v, most running at once %d", l.order, l.maxRunning)
}
