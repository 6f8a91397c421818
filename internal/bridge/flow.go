package bridge

import (
	"context"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/execution"
	"github.com/pop-operator/pop/internal/metrics"
)

// flowControl holds the intake while too many bridged Agendas wait for admission, so a
// large backlog waits in SQS (cheap, durable, visible to the client) rather than in etcd.
// Pollers reserve room before they receive and ask SQS for no more messages than that, and
// Agendas this process created count until the cache shows them: the bound holds exactly
// for one replica (replicas sharing a bound may each fill it before seeing the others').
type flowControl struct {
	mu       sync.Mutex
	counted  time.Time
	pending  int // from the cache at the last count
	reserved int // room taken by batches being handled
	unseen   map[string]time.Time
	paused   bool
}

// recount bounds how often the pending Agendas are counted.
const recount = 200 * time.Millisecond

// unseenExpiry forgets a created Agenda the cache never showed (deleted at once).
const unseenExpiry = time.Minute

// acquire reserves room for up to max messages; 0 means hold.
func (f *flowControl) acquire(ctx context.Context, c client.Reader, bound, max int, log logr.Logger) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if time.Since(f.counted) >= recount {
		if err := f.count(ctx, c); err != nil {
			log.Error(err, "Counting pending bridged Agendas failed; holding the intake")
			return 0
		}
	}
	room := min(bound-f.pending-len(f.unseen)-f.reserved, max)
	f.setPaused(room <= 0, bound, log)
	if room <= 0 {
		return 0
	}
	f.reserved += room
	return room
}

// release returns a batch's reservation and remembers the Agendas it created.
func (f *flowControl) release(reserved int, created []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reserved -= reserved
	if f.unseen == nil {
		f.unseen = map[string]time.Time{}
	}
	for _, name := range created {
		f.unseen[name] = time.Now()
	}
	f.counted = time.Time{} // count again before the next batch
}

// count reads the bridged Agendas not yet admitted and not finished from the cache.
func (f *flowControl) count(ctx context.Context, c client.Reader) error {
	var list popv1.AgendaList
	if err := c.List(ctx, &list, client.MatchingLabels{SourceLabel: SourceSQS}, client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	n := 0
	for i := range list.Items {
		ag := &list.Items[i]
		delete(f.unseen, ag.Namespace+"/"+ag.Name)
		if !execution.IsFinished(ag) && !meta.IsStatusConditionTrue(ag.Status.Conditions, popv1.AgendaAdmitted) {
			n++
		}
	}
	for k, t := range f.unseen {
		if time.Since(t) > unseenExpiry {
			delete(f.unseen, k)
		}
	}
	f.pending, f.counted = n, time.Now()
	return nil
}

func (f *flowControl) setPaused(paused bool, bound int, log logr.Logger) {
	if paused == f.paused {
		return
	}
	f.paused = paused
	log.Info("Flow control", "paused", paused, "pending", f.pending+len(f.unseen), "bound", bound)
	if paused {
		metrics.BridgePaused.Set(1)
	} else {
		metrics.BridgePaused.Set(0)
	}
}
