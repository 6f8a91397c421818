package chaos

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// LeaseChange is the leader-election Lease seen with a new holder.
type LeaseChange struct {
	At     time.Time
	Holder string
}

// Auditor feeds a Ledger from its own watches of Agendas and handler Pods (each stream in the
// API server's resourceVersion order, resumed from the last resourceVersion after any break,
// such as an API server restart) and follows the leader-election Lease.
type Auditor struct {
	Ledger *Ledger
	c      client.WithWatch

	created chan PodEvent

	mu     sync.Mutex
	leases []LeaseChange
	errs   map[string]int
}

// NewAuditor returns an auditor reading through c.
func NewAuditor(c client.WithWatch, capacity map[string]int) *Auditor {
	return &Auditor{Ledger: NewLedger(capacity), c: c, errs: map[string]int{}, created: make(chan PodEvent, 1)}
}

// Start lists each kind once (the resourceVersion to watch from) and follows it until ctx ends.
func (a *Auditor) Start(ctx context.Context) error {
	streams := []struct {
		name string
		list func() client.ObjectList
		sel  string
		ns   string
		feed func(watch.EventType, client.Object, time.Time)
	}{
		{"agendas", func() client.ObjectList { return &popv1.AgendaList{} }, "", "", a.onAgenda},
		{"pods", func() client.ObjectList { return &corev1.PodList{} }, popv1.AgendaLabel, "", a.onPod},
		{"lease", func() client.ObjectList { return &coordv1.LeaseList{} }, "", OperatorNamespace, a.onLease},
	}
	for _, s := range streams {
		st := &stream{c: a.c, name: s.name, list: s.list, sel: s.sel, ns: s.ns, feed: s.feed, gap: a.Ledger.Gap, errf: a.countErr}
		if err := st.relist(ctx, false); err != nil {
			return fmt.Errorf("auditor: listing %s: %w", s.name, err)
		}
		go st.follow(ctx)
	}
	return nil
}

func (a *Auditor) countErr(stream string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errs[stream]++
}

// WatchBreaks is how often each stream had to be watched again.
func (a *Auditor) WatchBreaks() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]int{}
	for k, v := range a.errs {
		out[k] = v
	}
	return out
}

func (a *Auditor) onAgenda(t watch.EventType, obj client.Object, at time.Time) {
	if ag, ok := obj.(*popv1.Agenda); ok {
		a.Ledger.Agenda(NewAgendaEvent(t, ag, at))
	}
}

func (a *Auditor) onPod(t watch.EventType, obj client.Object, at time.Time) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || t == watch.Deleted {
		return
	}
	attempt, _ := strconv.Atoi(pod.Labels[popv1.AttemptLabel])
	ev := PodEvent{UID: string(pod.UID), Name: pod.Namespace + "/" + pod.Name, AgendaUID: pod.Labels[popv1.AgendaUIDLabel],
		Agenda: pod.Labels[popv1.AgendaLabel], Operation: pod.Labels[popv1.OperationLabel], Attempt: attempt, At: at}
	if a.Ledger.Pod(ev) && t == watch.Added {
		select {
		case a.created <- ev:
		default:
		}
	}
}

// NextPodCreated waits (up to within) for the next Pod the auditor sees created.
func (a *Auditor) NextPodCreated(ctx context.Context, within time.Duration) (PodEvent, bool) {
	select {
	case <-a.created: // one seen before the call is stale
	default:
	}
	select {
	case ev := <-a.created:
		return ev, true
	case <-ctx.Done():
	case <-time.After(within):
	}
	return PodEvent{}, false
}

func (a *Auditor) onLease(_ watch.EventType, obj client.Object, at time.Time) {
	l, ok := obj.(*coordv1.Lease)
	if !ok || l.Spec.HolderIdentity == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if n := len(a.leases); n == 0 || a.leases[n-1].Holder != *l.Spec.HolderIdentity {
		a.leases = append(a.leases, LeaseChange{At: at, Holder: *l.Spec.HolderIdentity})
	}
}

// LeaseHolderAfter is the first change of the Lease's holder after t (zero when none yet).
func (a *Auditor) LeaseHolderAfter(t time.Time) LeaseChange {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.leases {
		if c.At.After(t) {
			return c
		}
	}
	return LeaseChange{}
}

type stream struct {
	c    client.WithWatch
	name string
	list func() client.ObjectList
	sel  string
	ns   string
	feed func(watch.EventType, client.Object, time.Time)
	gap  func(string)
	errf func(string)
	rv   string
}

func (s *stream) options() *client.ListOptions {
	return &client.ListOptions{Namespace: s.ns, Raw: &metav1.ListOptions{ResourceVersion: s.rv, AllowWatchBookmarks: true,
		LabelSelector: s.sel}}
}

// relist lists everything (fed as Modified: an event may have been missed) and remembers the
// list's resourceVersion.
func (s *stream) relist(ctx context.Context, afterGap bool) error {
	l := s.list()
	opts := &client.ListOptions{Namespace: s.ns, Raw: &metav1.ListOptions{LabelSelector: s.sel}}
	if err := s.c.List(ctx, l, opts); err != nil {
		return err
	}
	if afterGap {
		s.gap(s.name)
	}
	now := time.Now()
	items, err := meta.ExtractList(l)
	if err != nil {
		return err
	}
	for _, it := range items {
		if o, ok := it.(client.Object); ok {
			s.feed(watch.Modified, o, now)
		}
	}
	s.rv = l.(metav1.ListInterface).GetResourceVersion()
	return nil
}

func (s *stream) follow(ctx context.Context) {
	for ctx.Err() == nil {
		w, err := s.c.Watch(ctx, s.list(), s.options())
		if err != nil {
			s.errf(s.name)
			s.recover(ctx, err)
			continue
		}
		err = s.drain(ctx, w)
		w.Stop()
		if ctx.Err() == nil {
			s.errf(s.name)
			s.recover(ctx, err)
		}
	}
}

// recover waits a little, and relists when the resourceVersion is too old to resume from.
func (s *stream) recover(ctx context.Context, err error) {
	sleep(ctx, 200*time.Millisecond)
	if err != nil && (apierrors.IsResourceExpired(err) || apierrors.IsGone(err)) {
		for ctx.Err() == nil && s.relist(ctx, true) != nil {
			sleep(ctx, 500*time.Millisecond)
		}
	}
}

// drain feeds the watch's events until it ends; an error event ends it with its status.
func (s *stream) drain(ctx context.Context, w watch.Interface) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil
			}
			if ev.Type == watch.Error {
				return apierrors.FromObject(ev.Object)
			}
			o, ok := ev.Object.(client.Object)
			if !ok {
				continue
			}
			s.rv = o.GetResourceVersion()
			if ev.Type != watch.Bookmark {
				s.feed(ev.Type, o, time.Now())
			}
		}
	}
}
