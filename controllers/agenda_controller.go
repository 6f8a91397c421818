package controllers

import (
	"context"
	"errors"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/archive"
	"github.com/pop-operator/pop/internal/execution"
)

// AgendaFieldOwner is the field manager of every write the Agenda controller makes; the
// scheduler writes Admitted under its own.
const AgendaFieldOwner = "pop-agenda-controller"

// AgendaReconciler runs admitted Agendas: one Pod per ready operation attempt, outputs into
// status, retries, timeouts, cancel, rerun and TTL.
type AgendaReconciler struct {
	Client client.Client
	// APIReader reads past the cache, to tell a Pod not yet cached from a deleted one.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Clock     clock.PassiveClock
	// OperatorNamespace holds the cluster-wide default HandlerTypes.
	OperatorNamespace string
	// LaunchWait bounds how long a ready operation may be kept from starting (HandlerType
	// unavailable, Pod refused for a reason that may pass); execution.DefaultLaunchWait if 0.
	LaunchWait time.Duration
	graphs     graphCache
	archives   archiveCache
	// written maps an Agenda's key to this controller's last status write (writtenVersion).
	// A cached copy with another version may predate that write, so it is re-read from the
	// API server instead of being acted on and refused as stale. Keyed by name, not UID, so
	// that the entry can be dropped when a reconcile finds the Agenda gone.
	written sync.Map
	// cleaned maps an Agenda's key to the end whose Pods were cleaned up (finishedAt), so
	// that the reconciles that follow, whose Pod cache may not show the deletions yet, do not
	// ask for them again.
	cleaned sync.Map
}

// writtenVersion is the resourceVersion a status write produced, for the Agenda of that UID
// (a re-created Agenda of the same name has another).
type writtenVersion struct {
	uid             types.UID
	resourceVersion string
}

// +kubebuilder:rbac:groups=pop.dev,resources=agendas,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups=pop.dev,resources=agendas/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=pop.dev,resources=insights,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;create;delete;deletecollection
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile moves one Agenda forward. Steps:
//  1. a finished Agenda being deleted (a finalizer holds it) is left to the finalizer's owner;
//  2. a finished Agenda past its TTL is deleted;
//  3. an Agenda naming a template not yet resolved gets it written into its spec, and
//     nothing else happens this time (resolveTemplate);
//  4. the world the planner needs is read (observe);
//  5. the planner decides everything, the status included (execution.Decide);
//  6. the plan is carried out: Pods deleted, then created, refusals fed back to the planner;
//  7. the status is written, once (writeStatus), and only then Events and metrics recorded;
//  8. a finished Agenda's Pods are cleaned up, and the next look is scheduled.
func (r *AgendaReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	// One key for the Agenda in every component's logs: "agenda": "namespace/name".
	ctx = logf.IntoContext(ctx, logf.FromContext(ctx).WithValues("agenda", req.String()))
	return quietConflicts(r.reconcile(ctx, req))
}

func (r *AgendaReconciler) reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var ag popv1.Agenda
	if err := r.get(ctx, req.NamespacedName, &ag); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if deleting := !ag.DeletionTimestamp.IsZero(); deleting && popv1.IsFinished(&ag) {
		return ctrl.Result{}, nil
	} else if deleting {
		logf.FromContext(ctx).Info("Stopping Agenda: it is being deleted")
	}
	if expired, wait := r.ttlExpired(&ag); expired {
		return ctrl.Result{}, r.deleteExpired(ctx, &ag)
	} else if wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	if needsTemplate(&ag) {
		return r.resolveTemplate(ctx, &ag)
	}
	view, err := r.expand(ctx, &ag)
	if err != nil {
		return ctrl.Result{}, err
	}
	obs, err := r.observe(ctx, view.full)
	if err != nil {
		return ctrl.Result{}, err
	}
	plan, err := r.carryOut(ctx, obs, execution.Decide(obs))
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.writeStatus(ctx, &ag, view, plan.Status); err != nil {
		return ctrl.Result{}, err
	}
	return r.afterWrite(ctx, &ag, obs.Pods, plan.RequeueAfter)
}

// agendaView is an Agenda as the planner sees it: full has the whole operation list
// (archive.Expand), arch the archive it was built from. A settled Agenda (finished, no rerun
// to make) is planned from its stored status as it is: nothing changes it, so its archive is
// not read and its status not compacted.
type agendaView struct {
	full    *popv1.Agenda
	arch    archive.Archive
	settled bool
}

// expand builds the planner's view of the stored Agenda ag.
func (r *AgendaReconciler) expand(ctx context.Context, ag *popv1.Agenda) (agendaView, error) {
	if popv1.IsFinished(ag) && (!ag.DeletionTimestamp.IsZero() || !popv1.RerunPending(ag)) {
		return agendaView{full: ag, settled: true}, nil
	}
	arch, err := r.archiveOf(ctx, ag)
	if err != nil {
		return agendaView{}, err
	}
	full := *ag // the planner copies what it changes
	full.Status.Operations = archive.Expand(ag, arch)
	return agendaView{full: &full, arch: arch}, nil
}

// forget drops what the controller remembers of an Agenda that is gone.
func (r *AgendaReconciler) forget(key types.NamespacedName) {
	r.graphs.forget(key)
	r.archives.forget(key)
	r.written.Delete(key)
	r.cleaned.Delete(key)
}

// get reads an Agenda from the cache, or from the API server when the cached copy is not
// the one this controller last wrote.
func (r *AgendaReconciler) get(ctx context.Context, key types.NamespacedName, ag *popv1.Agenda) error {
	if err := r.Client.Get(ctx, key, ag); err != nil {
		return err
	}
	if last, ok := r.written.Load(key); ok {
		if w := last.(writtenVersion); w.uid == ag.UID && w.resourceVersion != ag.ResourceVersion {
			return r.APIReader.Get(ctx, key, ag)
		}
	}
	return nil
}

func (r *AgendaReconciler) now() time.Time { return r.Clock.Now() }

// ttlExpired says whether a finished Agenda's TTL ran out, or how long until it does.
func (r *AgendaReconciler) ttlExpired(ag *popv1.Agenda) (bool, time.Duration) {
	at, ok := execution.TTLExpiry(ag)
	if !ok {
		return false, 0
	}
	if wait := at.Sub(r.now()); wait > 0 {
		return false, wait
	}
	return true, 0
}

func (r *AgendaReconciler) deleteExpired(ctx context.Context, ag *popv1.Agenda) error {
	logf.FromContext(ctx).Info("Deleting Agenda after its TTL")
	err := r.Client.Delete(ctx, ag, client.PropagationPolicy("Background"), client.Preconditions{UID: &ag.UID})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// writeStatus is the one place an Agenda's status is written: a patch when it changed. next
// is the whole status the planner computed; what is stored is its compact form
// (archive.Compact): the finished operations due for a shard are written into a new one
// first, then the status counts it. The optimistic lock makes a write based on a stale read
// fail (and the reconcile retry) instead of overwriting the scheduler's Admitted condition or
// a newer outcome; a shard written before a refused status write is not counted, and the
// retry writes it again. Events and metrics follow only a stored write: a refused one is
// computed again by the retry, which would count the same change twice.
func (r *AgendaReconciler) writeStatus(ctx context.Context, ag *popv1.Agenda, view agendaView, next popv1.AgendaStatus) error {
	st, seals := next, [][]popv1.OperationStatus(nil)
	if !view.settled {
		seals, st.Operations = archive.Compact(next.Operations, view.arch)
		st.Counts, st.Shards = archive.Count(next.Operations), ag.Status.Shards
	}
	if statusEqual(ag.Status, st) {
		return nil
	}
	for _, seal := range seals {
		if err := r.writeShard(ctx, ag, st.Shards, seal); err != nil {
			return err
		}
		st.Shards++
	}
	before := ag.DeepCopy()
	ag.Status = st
	patch := client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})
	err := r.Client.Status().Patch(ctx, ag, patch, client.FieldOwner(AgendaFieldOwner))
	switch {
	case err == nil:
		key := client.ObjectKeyFromObject(ag)
		r.written.Store(key, writtenVersion{uid: ag.UID, resourceVersion: ag.ResourceVersion})
		if popv1.IsFinished(ag) {
			r.archives.forget(key)
		} else if len(seals) > 0 {
			r.sealed(ag, view.arch, seals)
		}
		prev := view.full
		if prev == ag { // not expanded (a template, a settled Agenda): ag now holds the new status
			prev = before
		}
		r.recordTransitions(ctx, prev, &next)
		return nil
	case apierrors.IsNotFound(err):
		return nil
	case apierrors.IsConflict(err):
		return errStale
	}
	// The write may have been stored all the same (a timeout): the cached copy cannot be
	// trusted, so the next reconcile reads past it (and so sees every shard it counted).
	r.written.Store(client.ObjectKeyFromObject(ag), writtenVersion{uid: ag.UID})
	return err
}

// errStale marks a status write refused because the Agenda changed since it was read.
// It is expected under concurrency, so Reconcile retries it quietly.
var errStale = errors.New("agenda changed since it was read")

// quietConflicts turns errStale into a prompt, unlogged retry.
func quietConflicts(res ctrl.Result, err error) (ctrl.Result, error) {
	if errors.Is(err, errStale) {
		return ctrl.Result{RequeueAfter: 100 * time.Millisecond}, nil
	}
	return res, err
}
