package bridge

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// FencedAnnotation marks an Agenda that this center suspended because it could not renew
// its center lease while another center was alive: meanwhile the other center may take
// the Agenda's claim over. The keeper resumes it, or cancels it if its claim is gone, once
// DynamoDB answers again. docs/centers.md.
const FencedAnnotation = "pop.dev/fenced"

// CenterFenced is 1 while this center holds its bridged Agendas because it cannot renew
// its center lease.
var CenterFenced = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Namespace: "pop", Name: "bridge_center_fenced",
	Help: "1 while this center suspends its bridged Agendas because it cannot renew its center lease.",
}, []string{"center"})

// CenterKeeper renews this center's lease (one write per CenterLeaseEvery, however many
// claims it holds) and fences the center when it cannot: past FenceAfter without a
// renewal, while another center was alive at the last one, it suspends every unfinished
// bridged Agenda, so that no new Pod starts here for work another center may now run. It
// runs on the leader only.
type CenterKeeper struct {
	Client client.Client
	Store  *Store
	Center string
	Lease  time.Duration
	Log    logr.Logger
}

// NeedLeaderElection keeps the keeper to the leader, which runs the Agendas it fences.
func (k *CenterKeeper) NeedLeaderElection() bool { return true }

// keeperState is what the keeper knows between renewals.
type keeperState struct {
	lastRenewed time.Time
	peersAlive  bool // another center was alive at the last renewal
	fenced      bool
	checkFenced bool // Agendas fenced by an earlier run may wait to be resumed
}

// Start renews until ctx ends.
func (k *CenterKeeper) Start(ctx context.Context) error {
	every := CenterLeaseEvery(k.Lease)
	st := keeperState{lastRenewed: time.Now(), checkFenced: true}
	for ctx.Err() == nil {
		began := time.Now()
		k.tick(ctx, &st, every)
		sleep(ctx, every-time.Since(began))
	}
	return nil
}

// tick renews once, then fences or lifts the fence as the outcome says.
func (k *CenterKeeper) tick(ctx context.Context, st *keeperState, every time.Duration) {
	renewedAt, renewed, peers := k.renew(ctx, every)
	now := time.Now()
	if renewed {
		st.lastRenewed, st.peersAlive = renewedAt, peers
		if st.fenced || st.checkFenced {
			if err := k.unfence(ctx); err != nil {
				k.Log.Error(err, "Lifting the fence failed; trying again at the next renewal")
				return
			}
			st.fenced, st.checkFenced = false, false
			CenterFenced.WithLabelValues(k.Center).Set(0)
		}
		return
	}
	if st.fenced || (st.peersAlive && now.Sub(st.lastRenewed) > FenceAfter(k.Lease)) {
		// Again on every tick while fenced: an Agenda created from a claim made just before
		// the outage is held too.
		if err := k.fence(ctx); err != nil {
			k.Log.Error(err, "Fencing failed; trying again")
			return
		}
		if !st.fenced {
			k.Log.Info("Center lease not renewed: new Pods of bridged Agendas held until DynamoDB answers",
				"center", k.Center, "lastRenewed", st.lastRenewed.UTC().Format(time.RFC3339))
		}
		st.fenced = true
		CenterFenced.WithLabelValues(k.Center).Set(1)
	}
}

// renew writes the center lease and reads whether another center is alive, within one
// period: a DynamoDB that hangs counts as one that refuses. renewedAt is when the written
// lease was computed (it holds until renewedAt + lease), so the fence counts from there.
func (k *CenterKeeper) renew(ctx context.Context, every time.Duration) (renewedAt time.Time, renewed, peersAlive bool) {
	ctx, cancel := context.WithTimeout(ctx, every)
	defer cancel()
	renewedAt = time.Now()
	if err := k.Store.RenewCenter(ctx, k.Center, renewedAt.Add(k.Lease)); err != nil {
		k.Log.V(1).Info("Center lease not renewed", "error", err.Error())
		return renewedAt, false, false
	}
	peers, err := k.Store.livePeers(ctx, k.Center, renewedAt)
	if err != nil {
		k.Log.Error(err, "Reading the other centers' leases failed; fencing as if one were alive")
		return renewedAt, true, true
	}
	return renewedAt, true, peers > 0
}

// fence suspends every unfinished bridged Agenda not already suspended, and marks it.
func (k *CenterKeeper) fence(ctx context.Context) error {
	list, err := k.bridged(ctx)
	if err != nil {
		return err
	}
	for i := range list {
		ag := &list[i]
		if popv1.IsFinished(ag) || ag.Spec.Cancel || ag.Spec.Suspend {
			continue
		}
		patch := client.MergeFrom(ag.DeepCopy())
		ag.Spec.Suspend = true
		setAnnotation(ag, FencedAnnotation, "true")
		if err := client.IgnoreNotFound(k.Client.Patch(ctx, ag, patch)); err != nil {
			return fmt.Errorf("suspending Agenda %s: %w", client.ObjectKeyFromObject(ag), err)
		}
	}
	return nil
}

// unfence resumes every fenced Agenda whose claim is still this center's, and cancels
// those another center took over meanwhile.
func (k *CenterKeeper) unfence(ctx context.Context) error {
	list, err := k.bridged(ctx)
	if err != nil {
		return err
	}
	for i := range list {
		ag := &list[i]
		if ag.Annotations[FencedAnnotation] == "" {
			continue
		}
		lost, err := lostClaim(ctx, k.Store, ag, customerOfNamespace(ctx, k.Client, ag.Namespace), k.Center)
		if err != nil {
			return err
		}
		patch := client.MergeFrom(ag.DeepCopy())
		delete(ag.Annotations, FencedAnnotation)
		if lost {
			ag.Spec.Cancel = true
			k.Log.Info("Cancelled a fenced Agenda whose claim another center took over", "agenda", client.ObjectKeyFromObject(ag).String())
		} else {
			ag.Spec.Suspend = false
		}
		if err := client.IgnoreNotFound(k.Client.Patch(ctx, ag, patch)); err != nil {
			return fmt.Errorf("lifting the fence on Agenda %s: %w", client.ObjectKeyFromObject(ag), err)
		}
	}
	return nil
}

func (k *CenterKeeper) bridged(ctx context.Context) ([]popv1.Agenda, error) {
	var list popv1.AgendaList
	if err := k.Client.List(ctx, &list, client.MatchingLabels{SourceLabel: SourceSQS}); err != nil {
		return nil, fmt.Errorf("listing bridged Agendas: %w", err)
	}
	return list.Items, nil
}

func setAnnotation(ag *popv1.Agenda, key, value string) {
	if ag.Annotations == nil {
		ag.Annotations = map[string]string{}
	}
	ag.Annotations[key] = value
}
