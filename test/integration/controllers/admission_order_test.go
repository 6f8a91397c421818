package controllers_test

import (
	"context"
	"fmt"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	// received counts the watch's events, resumed how often it was resumed after the API
	// server closed it; closed is set when it ended for good, last is the last non-Agenda
	// event (a watch error), for failure messages.
	received int
	resumed  int
	closed   bool
	last     string
}

// admissionEvent is an Agenda (namespace/name) admitted, or ended (Succeeded or Failed).
type admissionEvent struct {
	key   string
	ended bool
}

// recordAdmissions starts the watch, of the given namespaces' Agendas or of all (one watch,
// so that its events keep etcd's order across namespaces); it stops when the spec ends.
func recordAdmissions(namespace ...string) *admissionRecorder {
	GinkgoHelper()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Client.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	wctx, stop := context.WithCancel(ctx)
	DeferCleanup(stop)
	var opts []client.ListOption
	if len(namespace) == 1 {
		opts = append(opts, client.InNamespace(namespace[0]))
	}
	w, err := wc.Watch(wctx, &popv1.AgendaList{}, opts...)
	Expect(err).NotTo(HaveOccurred())
	r := &admissionRecorder{seen: map[admissionEvent]bool{}}
	go r.follow(wctx, wc, w, opts)
	return r
}

// follow consumes the watch and, when the API server closes it (it drops a watcher that
// falls behind, as a loaded suite's can), resumes from the last resourceVersion seen, so
// that the recorded stream stays whole and in order.
func (r *admissionRecorder) follow(ctx context.Context, wc client.WithWatch, w watch.Interface, opts []client.ListOption) {
	defer func() { r.mu.Lock(); r.closed = true; r.mu.Unlock() }()
	for {
		rv, failed := r.consume(w)
		w.Stop()
		if ctx.Err() != nil || failed || rv == "" {
			return
		}
		r.mu.Lock()
		r.resumed++
		r.mu.Unlock()
		var err error
		resume := append([]client.ListOption{&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv}}}, opts...)
		if w, err = wc.Watch(ctx, &popv1.AgendaList{}, resume...); err != nil {
			r.mu.Lock()
			r.last = "resuming the watch: " + err.Error()
			r.mu.Unlock()
			return
		}
	}
}

// consume records the watch's events until its channel closes; it returns the last
// resourceVersion seen, and whether the watch ended on an error event (a resume would not help).
func (r *admissionRecorder) consume(w watch.Interface) (lastRV string, failed bool) {
	for ev := range w.ResultChan() {
		r.mu.Lock()
		r.received++
		r.mu.Unlock()
		ag, ok := ev.Object.(*popv1.Agenda)
		if !ok {
			r.mu.Lock()
			r.last = fmt.Sprintf("%s %+v", ev.Type, ev.Object)
			r.mu.Unlock()
			if ev.Type == watch.Error {
				return lastRV, true
			}
			continue
		}
		lastRV = ag.ResourceVersion
		if ev.Type == watch.Deleted {
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
	return lastRV, false
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
	return fmt.Sprintf("watch: %d events, resumed %d times, closed %v, last non-Agenda event %q", r.received, r.resumed, r.closed, r.last)
}
