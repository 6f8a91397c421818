package chaos

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/bridge"
)

// evidence gathers what CheckBridge judges: the watch's record, a final list of the bridged
// Agendas, the dead letters, the intake queue's depth and the table's records (read again
// for up to a minute while one differs from its Agenda: the mirror may still be catching up).
func (r *BridgeRun) evidence(ctx context.Context) (BridgeEvidence, error) {
	keys, last, _ := r.Creations.Snapshot()
	ev := BridgeEvidence{Sent: r.Sender.Sent(), Agendas: keys, Last: last, Final: map[string]AgendaState{},
		DeadLetters: r.deadLetterCopy(), Records: map[string]MirrorRecord{}, Rejected: map[string]MirrorRecord{},
		IntakeLeft: r.depth(ctx, r.Queues.IntakeQueueURL)}
	var list popv1.AgendaList
	if err := r.Env.Client.List(ctx, &list, client.MatchingLabels{bridge.SourceLabel: bridge.SourceSQS}); err != nil {
		return ev, fmt.Errorf("listing the bridged Agendas: %w", err)
	}
	for _, ag := range list.Items {
		ev.Final[BridgeKey(ag.Namespace, ag.Annotations[bridge.KeyAnnotation])] = AgendaState{Namespace: ag.Namespace, Name: ag.Name,
			Phase: ag.Status.Phase, RV: ag.ResourceVersion}
	}
	if err := r.readRecords(ctx, &ev); err != nil {
		return ev, err
	}
	return ev, r.readRejections(ctx, &ev)
}

func (r *BridgeRun) readRecords(ctx context.Context, ev *BridgeEvidence) error {
	pending := map[string]AgendaState{}
	for k, fin := range ev.Final {
		pending[k] = fin
	}
	for deadline := time.Now().Add(time.Minute); len(pending) > 0; {
		for k, fin := range pending {
			customer, id := splitKey(k)
			rec, err := r.Store.Get(ctx, customer, id)
			if err != nil {
				return fmt.Errorf("reading record %s: %w", k, err)
			}
			if rec == nil {
				continue
			}
			ev.Records[k] = MirrorRecord{State: rec.State, Version: rec.Version, Reason: rec.Reason}
			if rec.State == string(fin.Phase) && fmt.Sprint(rec.Version) == fin.RV {
				delete(pending, k)
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		if len(pending) > 0 {
			sleep(ctx, time.Second)
		}
	}
	return nil
}

func (r *BridgeRun) readRejections(ctx context.Context, ev *BridgeEvidence) error {
	for _, m := range ev.Sent {
		if m.Poison == "" {
			continue
		}
		b := BodyKey(m.Body)
		dl, ok := ev.DeadLetters[b]
		if !ok {
			continue
		}
		for _, k := range RejectedKeys(m, dl.SourceID) {
			rec, err := r.Store.Get(ctx, k[0], k[1])
			if err != nil {
				return fmt.Errorf("reading record %s/%s: %w", k[0], k[1], err)
			}
			if rec != nil && rec.State == bridge.StateRejected {
				ev.Rejected[b] = MirrorRecord{State: rec.State, Version: rec.Version, Reason: rec.Reason}
				break
			}
		}
	}
	return nil
}

// stopAll stops the manager, the emulators and the control plane, and records any process
// of the run left alive.
func (r *BridgeRun) stopAll() {
	if r.Manager != nil {
		r.Manager.Stop()
	}
	if r.AWS != nil {
		r.AWS.Stop()
	}
	if r.Env != nil {
		_ = r.Env.Stop()
	}
	var pids []int
	if r.Manager != nil {
		pids = append(pids, r.Manager.Pids()...)
	}
	if r.AWS != nil {
		pids = append(pids, r.AWS.Pids()...)
	}
	for _, pid := range pids {
		if Alive(pid) {
			r.Leftover = append(r.Leftover, pid)
		}
	}
}
