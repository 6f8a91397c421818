package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/framework"
)

// AgendaTimes are the moments the bench saw one Agenda reach each state: Created when its
// create call returned, the others when a watch event first showed the condition True.
type AgendaTimes struct {
	Created, Queued, Admitted, Succeeded, Failed time.Time
}

// PodTimes are the moments the bench saw one handler Pod appear (watch) and made it finish
// (the simulator's status write returned).
type PodTimes struct {
	Seen, Done time.Time
}

// Observer records, from watches in the bench process, when Agendas and Pods change. The
// watch delivery (a few ms) is part of every latency it reports.
type Observer struct {
	mu      sync.Mutex
	agendas map[string]*AgendaTimes // by name: names are unique across namespaces
	pods    map[string]*PodTimes    // by Pod name
	podOf   map[string]string       // "agenda/operation" → Pod name (first attempt seen)
	byUID   map[string]string       // Agenda UID → name, never forgotten (audit attribution)
	counts  map[string]*phaseCounts
	onPod   func(*corev1.Pod)
}

type phaseCounts struct {
	queued, admitted, succeeded, failed, pods int
	// admissions and successes are the phase's Admitted and Succeeded moments in the order seen.
	admissions, successes []Event
}

// Event is one Agenda reaching a state.
type Event struct {
	Name string
	At   time.Time
}

// PhaseOf is the benchmark phase an object belongs to: its name up to the first '-'.
func PhaseOf(name string) string {
	p, _, _ := strings.Cut(name, "-")
	p, _, _ = strings.Cut(p, ".")
	return p
}

// NewObserver returns an empty Observer; onPod is called for every Pod event (the simulator).
func NewObserver(onPod func(*corev1.Pod)) *Observer {
	return &Observer{agendas: map[string]*AgendaTimes{}, pods: map[string]*PodTimes{}, podOf: map[string]string{},
		byUID:  map[string]string{},
		counts: map[string]*phaseCounts{}, onPod: onPod}
}

// Start runs the informers until ctx ends and returns once they have synced.
func (o *Observer) Start(ctx context.Context, e *Env) error {
	req, err := labels.NewRequirement(popv1.AgendaLabel, selection.Exists, nil)
	if err != nil {
		return err
	}
	c, err := cache.New(e.Config, cache.Options{
		Scheme:           framework.Scheme(),
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}:   {Label: labels.NewSelector().Add(*req)},
			&popv1.Agenda{}: {Transform: slimAgenda},
		},
	})
	if err != nil {
		return err
	}
	ai, err := c.GetInformer(ctx, &popv1.Agenda{})
	if err != nil {
		return err
	}
	if _, err := ai.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: o.agendaEvent, UpdateFunc: func(_, n any) { o.agendaEvent(n) },
	}); err != nil {
		return err
	}
	pi, err := c.GetInformer(ctx, &corev1.Pod{})
	if err != nil {
		return err
	}
	if _, err := pi.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: o.podEvent, UpdateFunc: func(_, n any) { o.podEvent(n) },
	}); err != nil {
		return err
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return fmt.Errorf("the bench's informers did not sync")
	}
	return nil
}

// slimAgenda keeps only what the observer reads, so that 100,000 cached Agendas cost the
// bench little memory.
func slimAgenda(obj any) (any, error) {
	ag, ok := obj.(*popv1.Agenda)
	if !ok {
		return obj, nil
	}
	slim := &popv1.Agenda{ObjectMeta: metav1.ObjectMeta{Name: ag.Name, Namespace: ag.Namespace,
		ResourceVersion: ag.ResourceVersion, UID: ag.UID}}
	slim.Status.Conditions = ag.Status.Conditions
	return slim, nil
}

func (o *Observer) agendaEvent(obj any) {
	ag, ok := obj.(*popv1.Agenda)
	if !ok {
		return
	}
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.byUID[string(ag.UID)] = ag.Name
	t := o.agendas[ag.Name]
	if t == nil {
		t = &AgendaTimes{}
		o.agendas[ag.Name] = t
	}
	pc := o.phase(PhaseOf(ag.Name))
	mark := func(at *time.Time, cond string, n *int) bool {
		if at.IsZero() && meta.IsStatusConditionTrue(ag.Status.Conditions, cond) {
			*at = now
			*n++
			return true
		}
		return false
	}
	mark(&t.Queued, popv1.AgendaQueued, &pc.queued)
	if mark(&t.Admitted, popv1.AgendaAdmitted, &pc.admitted) {
		pc.admissions = append(pc.admissions, Event{ag.Name, now})
	}
	if mark(&t.Succeeded, popv1.AgendaSucceeded, &pc.succeeded) {
		pc.successes = append(pc.successes, Event{ag.Name, now})
	}
	mark(&t.Failed, popv1.AgendaFailed, &pc.failed)
}

func (o *Observer) podEvent(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	o.mu.Lock()
	if _, seen := o.pods[pod.Name]; !seen {
		o.pods[pod.Name] = &PodTimes{Seen: time.Now()}
		o.phase(PhaseOf(pod.Name)).pods++
		key := pod.Labels[popv1.AgendaLabel] + "/" + pod.Labels[popv1.OperationLabel]
		if _, ok := o.podOf[key]; !ok {
			o.podOf[key] = pod.Name
		}
	}
	o.mu.Unlock()
	if o.onPod != nil {
		o.onPod(pod)
	}
}

func (o *Observer) phase(p string) *phaseCounts {
	pc := o.counts[p]
	if pc == nil {
		pc = &phaseCounts{}
		o.counts[p] = pc
	}
	return pc
}

// Created records that an Agenda's create call returned at t.
func (o *Observer) Created(name string, t time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	at := o.agendas[name]
	if at == nil {
		at = &AgendaTimes{}
		o.agendas[name] = at
	}
	if at.Created.IsZero() {
		at.Created = t
	}
}

// PodDone records that the simulator finished a Pod at t.
func (o *Observer) PodDone(name string, t time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if pt := o.pods[name]; pt != nil && pt.Done.IsZero() {
		pt.Done = t
	}
}

// Agenda returns a copy of an Agenda's times.
func (o *Observer) Agenda(name string) AgendaTimes {
	o.mu.Lock()
	defer o.mu.Unlock()
	if t := o.agendas[name]; t != nil {
		return *t
	}
	return AgendaTimes{}
}

// PodOf returns the times of the first Pod seen for an Agenda's operation, from the Pods'
// labels (the bench's Agenda names fit a label unshortened).
func (o *Observer) PodOf(agenda, op string) PodTimes {
	o.mu.Lock()
	name, ok := o.podOf[agenda+"/"+op]
	o.mu.Unlock()
	if !ok {
		return PodTimes{}
	}
	return o.Pod(name)
}

// Pod returns a copy of a Pod's times.
func (o *Observer) Pod(name string) PodTimes {
	o.mu.Lock()
	defer o.mu.Unlock()
	if t := o.pods[name]; t != nil {
		return *t
	}
	return PodTimes{}
}

// Count is one of a phase's counters: "queued", "admitted", "succeeded", "failed", "pods".
func (o *Observer) Count(phase, what string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	pc := o.phase(phase)
	switch what {
	case "queued":
		return pc.queued
	case "admitted":
		return pc.admitted
	case "succeeded":
		return pc.succeeded
	case "failed":
		return pc.failed
	case "pods":
		return pc.pods
	}
	panic("unknown counter " + what)
}

// Admissions returns the phase's admissions in the order seen.
func (o *Observer) Admissions(phase string) []Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Event(nil), o.phase(phase).admissions...)
}

// Successes returns the phase's Succeeded Agendas in the order seen.
func (o *Observer) Successes(phase string) []Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Event(nil), o.phase(phase).successes...)
}

// WaitFor polls until the phase's counter reaches n, or fails after timeout.
func (o *Observer) WaitFor(ctx context.Context, phase, what string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		got := o.Count(phase, what)
		if got >= n {
			return nil
		}
		if f := o.Count(phase, "failed"); f > 0 && what != "failed" {
			return fmt.Errorf("phase %s: %d Agendas failed (waiting for %d %s, have %d)", phase, f, n, what, got)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("phase %s: %d of %d %s after %s", phase, got, n, what, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Forget drops a phase's records once they have been read (memory at 100,000 Agendas).
func (o *Observer) Forget(phase string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for name := range o.agendas {
		if PhaseOf(name) == phase {
			delete(o.agendas, name)
		}
	}
	for name := range o.pods {
		if PhaseOf(name) == phase {
			delete(o.pods, name)
		}
	}
	for key := range o.podOf {
		if PhaseOf(key) == phase {
			delete(o.podOf, key)
		}
	}
}

// Waiting returns the name of one Agenda of the phase that is queued and not admitted.
func (o *Observer) Waiting(phase string) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for name, t := range o.agendas {
		if PhaseOf(name) == phase && !t.Queued.IsZero() && t.Admitted.IsZero() {
			return name, true
		}
	}
	return "", false
}

// NameOfUID returns the name of the Agenda with that UID, if the bench saw it.
func (o *Observer) NameOfUID(uid string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.byUID[uid]
}
