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
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// FieldOwner is the field manager of the scheduler's writes.
const FieldOwner = "pop-scheduler"

// statusRefresh bounds how often an Insight's status is rewritten.
const statusRefresh = time.Second

// Scheduler is the admission Runnable.
type Scheduler struct {
	Client            client.Client
	Cache             cache.Cache
	Clock             clock.WithTicker
	OperatorNamespace string
	Log               logr.Logger

	// mu guards the dirty marks, which event handlers set from the informers' goroutines.
	// Everything else belongs to the goroutine running Start.
	mu sync.Mutex
	// dirtyAgendas keeps event order, so that Agendas created in one second are numbered
	// (queue.Item.Seq) in the order the API server stored them.
	dirtyAgendas  []types.NamespacedName
	dirtySet      map[types.NamespacedName]bool
	dirtyInsights map[string]bool
	dirtyAll      bool
	wake          chan struct{}
	ready         chan struct{}
	readyOnce     sync.Once

	insights map[string]*insightState
	agendas  map[types.NamespacedName]*agendaState
	seqs     map[types.UID]uint64
	nextSeq  uint64
	// failures counts refused admissions per Agenda and says how long to wait before the
	// next attempt; retries holds that time.
	failures workqueue.TypedRateLimiter[types.NamespacedName]
	retries  map[types.NamespacedName]retry
}

// Ready is closed once the scheduler has rebuilt its queues from the cluster and made its
// first admissions; from then on every Agenda it sees is numbered in arrival order.
func (s *Scheduler) Ready() <-chan struct{} { return s.readyChan() }

func (s *Scheduler) readyChan() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
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
	s.init()
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
	s.mu.Lock()
	s.dirtyAgendas, s.dirtySet = nil, map[types.NamespacedName]bool{}
	s.mu.Unlock()
	s.markAll()
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
		case <-s.wake:
		case <-ticker.C():
		case <-retryC:
		}
		stopRetry()
	}
}

func (s *Scheduler) init() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.insights = map[string]*insightState{}
	s.agendas = map[types.NamespacedName]*agendaState{}
	s.dirtySet = map[types.NamespacedName]bool{}
	s.dirtyInsights = map[string]bool{}
	s.wake = make(chan struct{}, 1)
	s.seqs = map[types.UID]uint64{}
	s.failures = workqueue.NewTypedItemExponentialFailureRateLimiter[types.NamespacedName](admitRetryBase, admitRetryMax)
	s.retries = map[types.NamespacedName]retry{}
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
			s.markAgenda(client.ObjectKeyFromObject(co))
		} else {
			s.markInsight(co.GetNamespace() + "/" + co.GetName())
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

func (s *Scheduler) markAgenda(key types.NamespacedName) {
	s.mu.Lock()
	if !s.dirtySet[key] {
		s.dirtySet[key] = true
		s.dirtyAgendas = append(s.dirtyAgendas, key)
	}
	s.mu.Unlock()
	s.signal()
}

func (s *Scheduler) markInsight(key string) {
	s.mu.Lock()
	s.dirtyInsights[key] = true
	s.mu.Unlock()
	s.signal()
}

func (s *Scheduler) markAll() {
	s.mu.Lock()
	s.dirtyAll = true
	s.mu.Unlock()
	s.signal()
}

func (s *Scheduler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// cycle is one scheduling pass. Its cost follows what changed: the Agendas and Insights
// marked since the last pass, and the admissions it makes; only a full rebuild (at start)
// reads everything.
//  1. take the dirty marks;
//  2. reload the Insights that changed, collecting the Agendas whose match may have changed;
//  3. re-read those and the dirty Agendas into queues and usage;
//  4. admit queue heads while Insights have free capacity;
//  5. refresh Insight statuses (rate-limited).
func (s *Scheduler) cycle(ctx context.Context) {
	s.mu.Lock()
	dirty, insights, all := s.dirtyAgendas, s.dirtyInsights, s.dirtyAll
	s.dirtyAgendas, s.dirtySet, s.dirtyInsights, s.dirtyAll = nil, map[types.NamespacedName]bool{}, map[string]bool{}, false
	s.mu.Unlock()

	if all {
		keys, err := s.rebuildKeys(ctx)
		if err != nil {
			s.Log.Error(err, "Rebuilding from the cache failed; retrying")
			s.markAll()
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
}

// rebuildKeys reloads every Insight and returns every Agenda key, oldest first.
func (s *Scheduler) rebuildKeys(ctx context.Context) ([]types.NamespacedName, error) {
	if err := s.reloadInsights(ctx); err != nil {
		return nil, err
	}
	return s.allAgendaKeys(ctx)
}

// reloadChanged reloads the Insights that changed and returns the Agendas to match again.
func (s *Scheduler) reloadChanged(ctx context.Context, insights map[string]bool) []types.NamespacedName {
	var rematch []types.NamespacedName
	for key := range insights {
		keys, err := s.reloadInsight(ctx, key)
		if err != nil {
			s.Log.Error(err, "Reading Insight failed; retrying", "insight", key)
			s.markInsight(key)
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
