package controllers_test

import (
	"fmt"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// admissionRecorder lists Agendas' admissions and ends in the order they were written, read
// from one watch of all namespaces: its events come in etcd's write order, whatever order
// their Pods happen to start in.
type admissionRecorder struct {
	mu     sync.Mutex
	events []admissionEvent
	seen   map[admissionEvent]bool
	// received counts the watch's events; closed is set when its channel closed, last is
	// the last non-Agenda event (a watch error), for failure messages.
	received int
	closed   bool
	last     string
}

// admissionEvent is an Agenda (namespace/name) admitted, or ended (Succeeded or Failed).
type admissionEvent struct {
	key   string
	ended bool
}

// recordAdmissions starts the watch; it stops when the spec ends.
func recordAdmissions() *admissionRecorder {
	GinkgoHelper()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Client.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	w, err := wc.Watch(ctx, &popv1.AgendaList{})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(w.Stop)
	r := &admissionRecorder{seen: map[admissionEvent]bool{}}
	go r.consume(w)
	return r
}

func (r *admissionRecorder) consume(w watch.Interface) {
	defer func() { r.mu.Lock(); r.closed = true; r.mu.Unlock() }()
	for ev := range w.ResultChan() {
		r.mu.Lock()
		r.received++
		r.mu.Unlock()
		ag, ok := ev.Object.(*popv1.Agenda)
		if !ok {
			r.mu.Lock()
			r.last = fmt.Sprintf("%s %+v", ev.Type, ev.Object)
			r.mu.Unlock()
		}
		if !ok || ev.Type == watch.Deleted {
			continue
		}
		key := ag.Namespace + "/" + ag.Name
		if popv1.IsAdmitted(ag) {
			r.add(admissionEvent{key: key})
		}
		if popv1.IsFinished(ag) {
			r.add(admissionEvent{key: key, ended: true})
		}
	}
}

func (r *admissionRecorder) add(ev admissionEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.seen[ev] {
		r.seen[ev] = true
		r.events = append(r.events, ev)
	}
}

// sequence returns the admissions and ends so far, first first.
func (r *admissionRecorder) sequence() []admissionEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]admissionEvent(nil), r.events...)
}

// endedIn counts the Agendas of the given namespaces seen ending.
func (r *admissionRecorder) endedIn(namespaces map[string]string) int {
	n := 0
	for _, ev := range r.sequence() {
		for _, ns := range namespaces {
			if ev.ended && strings.HasPrefix(ev.key, ns+"/") {
				n++
			}
		}
	}
	return n
}

// state describes the watch, for failure messages.
func (r *admissionRecorder) state() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("watch: %d events, closed %v, last non-Agenda event %q", r.received, r.closed, r.last)
}
