package bridge

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// health holds the intake while the API server or the table does not answer. Every
// receive counts towards the queue's maxReceiveCount, after which SQS moves the message to
// the dead-letter queue without a reason: receiving during an outage would dead-letter
// valid messages once the outage outlasts maxReceiveCount receives. The cache keeps
// answering when the API server is away, so the probe reads through the API server itself.
type health struct {
	mu        sync.Mutex
	ok        bool
	suspected bool      // a passing error was seen: probe before the next receive
	next      time.Time // when to probe again
	failures  int       // consecutive failed probes, for the backoff
}

// Probe timing: a healthy intake probes every healthyProbeEvery (and after any passing
// error); a failing probe is retried with a backoff from 500 ms to maxProbeBackoff.
const (
	healthyProbeEvery = 5 * time.Second
	maxProbeBackoff   = 15 * time.Second
	probeTimeout      = 3 * time.Second
)

// ready says whether pollers may receive, probing when it is time to.
func (h *health) ready(ctx context.Context, probe func(context.Context) error, log logr.Logger) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	if now.Before(h.next) && (!h.ok || !h.suspected) {
		return h.ok
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	err := probe(pctx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		if h.ok || h.failures == 0 {
			log.Error(err, "The API server or the table does not answer; holding the intake (messages wait in SQS)")
		}
		h.ok, h.failures = false, h.failures+1
		h.next = now.Add(probeBackoff(h.failures))
		return false
	}
	if !h.ok && h.failures > 0 {
		log.Info("The API server and the table answer again; resuming the intake", "failedProbes", h.failures)
	}
	h.ok, h.suspected, h.failures = true, false, 0
	h.next = now.Add(healthyProbeEvery)
	return true
}

// suspect makes the next ready probe first: a passing error may be the start of an outage.
func (h *health) suspect() {
	h.mu.Lock()
	h.suspected = true
	h.mu.Unlock()
}

func probeBackoff(failures int) time.Duration {
	d := 500 * time.Millisecond
	for range failures - 1 {
		if d *= 2; d >= maxProbeBackoff {
			return maxProbeBackoff
		}
	}
	return d
}

// probe reads one namespace from the API server (not the cache) and one key of the table.
func (i *Intake) probe(ctx context.Context) error {
	var list corev1.NamespaceList
	apiErr := i.APIReader.List(ctx, &list, client.Limit(1))
	return errors.Join(apiErr, i.Store.Ping(ctx))
}
