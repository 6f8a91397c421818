package bridge

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/metrics"
)

// flowControl holds the intake while too many bridged Agendas wait for admission, so a
// large backlog waits in SQS (cheap, durable, visible to the client) rather than in etcd.
// Two bounds: one over all customers, and one per customer (namespace), so that one
// customer's stuck Agendas (paused Insight, no match) hold only that customer. Pollers
// ask SQS for no more messages than there is room for, and each message then takes its
// place under both bounds before its Agenda is created; one that finds none is deferred.
// (Pollers do not reserve room across their long poll: with many queues, idle long polls
// would hold the room the busy queues need.) Agendas this process created count until the
// cache shows them: the bounds hold exactly for one replica (replicas may each fill them
// before seeing the others').
type flowControl struct {
	mu       sync.Mutex
	counted  time.Time
	pending  int            // from the cache at the last count
	byNS     map[string]int // the same, per namespace
	inflight map[string]int // per namespace, messages between their check and their Agenda
	// unseen are the Agendas this process created that the cache has not shown yet;
	// observed those the cache's informer reported (created, changed or deleted) lately,
	// so that an Agenda deleted before a count saw it stops counting at once.
	unseen   map[string]time.Time
	observed map[string]time.Time
	paused   bool

	// With capacity-aware pulling (aware), the bound is also the free capacity of the
	// center's unpaused Insights (capacity − admitted, from their status at the last
	// count) plus headroom: a center pulls only what it can admit soon and leaves the rest
	// of a shared queue to centers with room.
	aware              bool
	headroom           int
	capacity, admitted int
	center             string
}

// configure sets what the bounds depend on beyond the flags passed to room and take.
func (f *flowControl) configure(c Config) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.aware, f.headroom, f.center = c.CapacityAware, c.CapacityHeadroom, c.Center
}

// bound is the pending bridged Agendas allowed now: maxPending, or less when the
// center's Insights are nearly full.
func (f *flowControl) bound(maxPending int) int {
	if !f.aware {
		return maxPending
	}
	return min(maxPending, max(f.capacity-f.admitted, 0)+f.headroom)
}

// recount bounds how often the pending Agendas are counted.
const recount = 200 * time.Millisecond

// unseenExpiry forgets a created Agenda the cache never showed (deleted at once).
const unseenExpiry = time.Minute

// room is how many messages a poller may receive now, up to most; 0 means hold. For a
// customer's queue (namespace set) it is that customer's room too.
func (f *flowControl) room(ctx context.Context, c client.Reader, bound, most int, namespace string, perCustomer int, log logr.Logger) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.refresh(ctx, c); err != nil {
		log.Error(err, "Counting pending bridged Agendas failed; holding the intake")
		return 0
	}
	bound = f.bound(bound)
	CenterBound.WithLabelValues(f.center).Set(float64(bound))
	room := min(bound-f.used(), most)
	f.setPaused(room <= 0, bound, log)
	if namespace != "" {
		room = min(room, f.customerRoom(namespace, perCustomer))
	}
	return max(room, 0)
}

// take reserves a place for one more Agenda of the namespace's customer, and says false
// when all customers together or this one are at their bound. A true must be followed by
// done.
func (f *flowControl) take(ctx context.Context, c client.Reader, namespace string, bound, perCustomer int) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.refresh(ctx, c); err != nil {
		return false, err
	}
	if f.used() >= f.bound(bound) || f.customerRoom(namespace, perCustomer) <= 0 {
		return false, nil
	}
	if f.inflight == nil {
		f.inflight = map[string]int{}
	}
	f.inflight[namespace]++
	return true, nil
}

// used is what counts against the bound over all customers.
func (f *flowControl) used() int {
	n := f.pending + len(f.unseen)
	for _, k := range f.inflight {
		n += k
	}
	return n
}

// done ends a take, remembering the Agenda it created (namespace/name), if any, until
// the cache shows it.
func (f *flowControl) done(namespace, created string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.inflight[namespace]--; f.inflight[namespace] <= 0 {
		delete(f.inflight, namespace)
	}
	if created == "" {
		return
	}
	if _, seen := f.observed[created]; seen {
		f.counted = time.Time{} // in the cache already, maybe not in the last count
		return
	}
	if f.unseen == nil {
		f.unseen = map[string]time.Time{}
	}
	f.unseen[created] = time.Now()
}

// observe records that the cache has seen an Agenda (namespace/name): it no longer needs
// counting as unseen, even if it is deleted before the next count.
func (f *flowControl) observe(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.unseen[key]; ok {
		delete(f.unseen, key)
		f.counted = time.Time{} // it counts from the cache now: count again before the next take
	}
	if f.observed == nil {
		f.observed = map[string]time.Time{}
	}
	f.observed[key] = time.Now()
}

// customerRoom is how many more Agendas the namespace's customer may have waiting.
func (f *flowControl) customerRoom(namespace string, bound int) int {
	n := f.byNS[namespace] + f.inflight[namespace]
	for name := range f.unseen {
		if strings.HasPrefix(name, namespace+"/") {
			n++
		}
	}
	return bound - n
}

func (f *flowControl) refresh(ctx context.Context, c client.Reader) error {
	if time.Since(f.counted) < recount {
		return nil
	}
	return f.count(ctx, c)
}

// count reads the bridged Agendas not yet admitted and not finished from the cache.
func (f *flowControl) count(ctx context.Context, c client.Reader) error {
	var list popv1.AgendaList
	if err := c.List(ctx, &list, client.MatchingLabels{SourceLabel: SourceSQS}, client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	n, byNS := 0, map[string]int{}
	for i := range list.Items {
		ag := &list.Items[i]
		delete(f.unseen, ag.Namespace+"/"+ag.Name)
		if !popv1.IsFinished(ag) && !meta.IsStatusConditionTrue(ag.Status.Conditions, popv1.AgendaAdmitted) {
			n++
			byNS[ag.Namespace]++
		}
	}
	for _, m := range []map[string]time.Time{f.unseen, f.observed} {
		for k, t := range m {
			if time.Since(t) > unseenExpiry {
				delete(m, k)
			}
		}
	}
	if f.aware {
		var insights popv1.InsightList
		if err := c.List(ctx, &insights, client.UnsafeDisableDeepCopy); err != nil {
			return err
		}
		f.capacity, f.admitted = insightLoad(insights.Items)
	}
	f.pending, f.byNS, f.counted = n, byNS, time.Now()
	f.export()
	return nil
}

// insightLoad sums the capacity and the admitted Agendas of the unpaused Insights (a
// paused one admits nothing soon). An Insight admitting more than its capacity (lowered
// while full) adds no negative room.
func insightLoad(items []popv1.Insight) (capacity, admitted int) {
	for i := range items {
		ins := &items[i]
		if ins.Spec.Paused {
			continue
		}
		c := int(ins.Spec.CapacityOrDefault())
		capacity += c
		admitted += min(int(ins.Status.Admitted), c)
	}
	return capacity, admitted
}

// export sets the center's flow-control gauges.
func (f *flowControl) export() {
	CenterPending.WithLabelValues(f.center).Set(float64(f.used()))
	CenterCapacity.WithLabelValues(f.center).Set(float64(f.capacity))
	CenterAdmitted.WithLabelValues(f.center).Set(float64(f.admitted))
}

func (f *flowControl) setPaused(paused bool, bound int, log logr.Logger) {
	if paused == f.paused {
		return
	}
	f.paused = paused
	log.Info("Flow control", "capacityAware", f.aware, "insightCapacity", f.capacity, "admitted", f.admitted, "paused", paused, "pending", f.used(), "bound", bound,
		"cached", f.pending, "unseen", len(f.unseen), "inflight", f.used()-f.pending-len(f.unseen))
	if paused {
		metrics.BridgePaused.Set(1)
	} else {
		metrics.BridgePaused.Set(0)
	}
}
