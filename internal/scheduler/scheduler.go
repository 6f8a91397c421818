// Package scheduler admits whole Agendas from Insights' queues. It is a leader-elected
// manager Runnable fed by informer events: it keeps one in-memory queue per Insight
// (internal/queue), so ordering work happens when Agendas arrive, not when capacity frees.
// Admission is a server-side-apply status patch under its own field owner. Capacity is a
// hard limit: the scheduler counts its own admissions before its cache sees them and
// rebuilds its state from the cluster before it admits anything.
package scheduler

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// FieldOwner is the field manager of the scheduler's writes.
const FieldOwner = "pop-scheduler"

// statusRefresh bounds how often an Insight's status is rewritten.
const statusRefresh = time.Second

// Options are what a Scheduler reads, writes and answers to.
type Options struct {
	Client            client.Client
	Cache             cache.Cache
	Clock             clock.WithTicker
	OperatorNamespace string
	Log               logr.Logger
	// Fence, when set, is asked before each pass whether this process still leads; nil
	// trusts the manager's leader election alone (see Fence).
	Fence Fence
	// AdmissionWrites is how many admission writes may be in flight at once (0:
	// DefaultAdmissionWrites). Decisions stay serial; see pipe.
	AdmissionWrites int
}

// Scheduler is the admission Runnable. Its exported fields are its Options, for callers
// that build it as a literal; New also makes its state.
//
// Lock ownership: marks (and its own mutex) is written by the informers' goroutines and
// read by the cycle; state, pipe, heldUntil and lastHoldRead belong to the goroutine
// running Start (in unit tests, the one calling cycle) and need no lock: admission writes
// run on their own goroutines but hand their answers back over pipe.done.
type Scheduler struct {
	Client            client.Client
	Cache             cache.Cache
	Clock             clock.WithTicker
	OperatorNamespace string
	Log               logr.Logger
	Fence             Fence
	AdmissionWrites   int

	marks *marks
	pipe  *pipe
	*state
	// heldUntil is until when the Fence allows writes, as last read at lastHoldRead.
	heldUntil, lastHoldRead time.Time

	readyMu   sync.Mutex
	ready     chan struct{}
	readyOnce sync.Once
}

// New returns a Scheduler with empty state; Start rebuilds it from the cluster.
func New(o Options) *Scheduler {
	s := &Scheduler{Client: o.Client, Cache: o.Cache, Clock: o.Clock, OperatorNamespace: o.OperatorNamespace,
		Log: o.Log, Fence: o.Fence, AdmissionWrites: o.AdmissionWrites}
	s.init()
	return s
}

// Ready is closed once the scheduler has rebuilt its queues from the cluster and made its
// first admissions; from then on every Agenda it sees is numbered in arrival order.
func (s *Scheduler) Ready() <-chan struct{} { return s.readyChan() }

func (s *Scheduler) readyChan() chan struct{} {
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	if s.ready == nil {
		s.ready = make(chan struct{})
	}
	return s.ready
}

// +kubebuilder:rbac:groups=pop.dev,resources=agendas,verbs=get;list;watch
// +kubebuilder:rbac:groups=pop.dev,resources=agendas/status,verbs=get;patch
// +kubebuilder:rbac:groups=pop.dev,resources=insights,verbs=get;list;watch
// +kubebuilder:rbac:groups=pop.dev,resources=insights/status,verbs=get;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// NeedLeaderElection makes only the leader schedule.
func (s *Scheduler) NeedLeaderElection() bool { return true }

// Start rebuilds state from the cache, then schedules on every event until ctx ends.
func (s *Scheduler) Start(ctx context.Context) error {
	if s.state == nil { // built as a literal
		s.init()
	}
	for _, obj := range []client.Object{&popv1.Agenda{}, &popv1.Insight{}} {
		inf, err := s.Cache.GetInformer(ctx, obj)
		if err != nil {
			return err
		}
		if _, err := inf.AddEventHandler(s.handlerFor(obj)); err != nil {
			return err
		}
	}
	if !s.Cache.WaitForCacheSync(ctx) {
		return ctx.Err()
	}
	s.Log.Info("Scheduler starting: rebuilding queues from the cluster")
	// The informers' initial lists carry no order of arrival (they come sorted by name):
	// forget their events, and let the rebuild number Agendas oldest first, then by name.
	s.marks.forgetAgendas()
	s.marks.all()
	ticker := s.Clock.NewTicker(statusRefresh)
	defer ticker.Stop()
	for {
		s.cycle(ctx)
		s.readyOnce.Do(func() { close(s.readyChan()) })
		retryC, stopRetry := s.retryTimer()
		select {
		case <-ctx.Done():
			stopRetry()
			return nil
		case <-s.marks.wake:
		case <-ticker.C():
		case <-retryC:
		}
		stopRetry()
	}
}

func (s *Scheduler) init() {
	s.marks = newMarks()
	s.state = newState()
	s.pipe = newPipe(s.AdmissionWrites)
}

// handlerFor turns informer events into dirty marks: an Agenda event marks that Agenda,
// an Insight event that Insight. An Insight update with the same generation is the echo of
// the scheduler's own status write, and is ignored.
func (s *Scheduler) handlerFor(obj client.Object) toolscache.ResourceEventHandler {
	_, isAgenda := obj.(*popv1.Agenda)
	mark := func(o any) {
		if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
			o = d.Obj
		}
		co, ok := o.(client.Object)
		if !ok {
			return
		}
		if isAgenda {
			s.marks.agenda(client.ObjectKeyFromObject(co))
		} else {
			s.marks.insight(InsightKey{Namespace: co.GetNamespace(), Name: co.GetName()})
		}
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc: mark,
		UpdateFunc: func(o, n any) {
			old, oldOK := o.(client.Object)
			cur, curOK := n.(client.Object)
			if isAgenda || !oldOK || !curOK || insightChanged(old, cur) {
				mark(n)
			}
		},
		DeleteFunc: mark,
	}
}

// cycle is one scheduling pass. Its cost follows what changed: the Agendas and Insights
// marked since the last pass, and the admissions it makes; only a full rebuild (at start)
// reads everything.
//  0. check the fence: a scheduler that may no longer write leaves the marks for later;
//  1. take the dirty marks;
//  2. reload the Insights that changed, collecting the Agendas whose match may have changed;
//  3. re-read those and the dirty Agendas into queues and usage;
//  4. admit queue heads while Insights have free capacity;
//  5. refresh Insight statuses (rate-limited) and queue positions (bucketed).
//
// Every write of the pass is bounded by the fence's deadline.
func (s *Scheduler) cycle(ctx context.Context) {
	ctx, cancel, ok := s.fenced(ctx)
	if !ok {
		return
	}
	defer cancel()
	dirty, insights, all := s.marks.take()
	if all {
		keys, err := s.rebuildKeys(ctx)
		if err != nil {
			s.Log.Error(err, "Rebuilding from the cache failed; retrying")
			s.marks.all()
			return
		}
		dirty = appendMissing(dirty, keys) // events first: they carry the order of arrival
	} else {
		dirty = appendMissing(dirty, s.reloadChanged(ctx, insights))
	}
	for _, key := range dirty {
		s.syncAgenda(ctx, key)
	}
	s.admitAll(ctx)
	s.refreshStatuses(ctx)
	s.refreshPositions(ctx)
}

// rebuildKeys reloads every Insight and returns every Agenda key, oldest first.
func (s *Scheduler) rebuildKeys(ctx context.Context) ([]types.NamespacedName, error) {
	if err := s.reloadInsights(ctx); err != nil {
		return nil, err
	}
	return s.allAgendaKeys(ctx)
}

// reloadChanged reloads the Insights that changed and returns the Agendas to match again.
func (s *Scheduler) reloadChanged(ctx context.Context, insights map[InsightKey]bool) []types.NamespacedName {
	var rematch []types.NamespacedName
	for key := range insights {
		keys, err := s.reloadInsight(ctx, key)
		if err != nil {
			s.Log.Error(err, "Reading Insight failed; retrying", "insight", key)
			s.marks.insight(key)
			continue
		}
		rematch = append(rematch, keys...)
	}
	return rematch
}

func appendMissing(ordered, more []types.NamespacedName) []types.NamespacedName {
	seen := make(map[types.NamespacedName]bool, len(ordered))
	for _, k := range ordered {
		seen[k] = true
	}
	for _, k := range more {
		if !seen[k] {
			ordered = append(ordered, k)
		}
	}
	return ordered
}

// allAgendaKeys lists every Agenda, oldest first (then by name), and those the scheduler
// tracks that no longer exist.
func (s *Scheduler) allAgendaKeys(ctx context.Context) ([]types.NamespacedName, error) {
	var list popv1.AgendaList
	if err := s.Cache.List(ctx, &list); err != nil {
		return nil, err
	}
	sort.SliceStable(list.Items, func(i, j int) bool {
		a, b := list.Items[i].CreationTimestamp, list.Items[j].CreationTimestamp
		if !a.Equal(&b) {
			return a.Before(&b)
		}
		return client.ObjectKeyFromObject(&list.Items[i]).String() < client.ObjectKeyFromObject(&list.Items[j]).String()
	})
	seen := map[types.NamespacedName]bool{}
	var keys []types.NamespacedName
	for i := range list.Items {
		key := client.ObjectKeyFromObject(&list.Items[i])
		seen[key] = true
		keys = append(keys, key)
	}
	for key := range s.agendas { // deleted while nobody looked
		if !seen[key] {
			keys = append(keys, key)
		}
	}
	return keys, nil
}
