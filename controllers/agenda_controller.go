package controllers

import (
	"context"
	"errors"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
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
	// written maps an Agenda's key to this controller's last status write (writtenVersion).
	// A cached copy with another version may predate that write, so it is re-read from the
	// API server instead of being acted on and refused as stale. Keyed by name, not UID, so
	// that the entry can be dropped when a reconcile finds the Agenda gone.
	written sync.Map
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
//  1. an Agenda being deleted (a finalizer holds it) before it finished is stopped;
//  2. a finished Agenda past its TTL is deleted;
//  3. a cancelled Agenda not admitted ends, valid or not, and stays as it ended;
//  4. the spec is validated and its HandlerTypes found (Accepted);
//  5. a requested rerun of a finished Agenda resets it and sends it back to its queue;
//  6. an Agenda not admitted waits for the scheduler;
//  7. an admitted one is planned from its Pods, and the plan carried out: Pods deleted and
//     created first, then one status write.
func (r *AgendaReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	// One key for the Agenda in every component's logs: "agenda": "namespace/name".
	ctx = logf.IntoContext(ctx, logf.FromContext(ctx).WithValues("agenda", req.String()))
	return quietConflicts(r.reconcile(ctx, req))
}

func (r *AgendaReconciler) reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var ag popv1.Agenda
	if err := r.get(ctx, req.NamespacedName, &ag); err != nil {
		if apierrors.IsNotFound(err) {
			r.graphs.forget(req.NamespacedName)
			r.written.Delete(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ag.DeletionTimestamp.IsZero() {
		return r.stopDeleted(ctx, &ag)
	}
	if expired, wait := r.ttlExpired(&ag); expired {
		return ctrl.Result{}, r.deleteExpired(ctx, &ag)
	} else if wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	admitted := meta.IsStatusConditionTrue(ag.Status.Conditions, popv1.AgendaAdmitted)
	if !admitted {
		if ended, err := r.endBeforeAdmission(ctx, &ag); ended || err != nil {
			return ctrl.Result{}, err
		}
	}
	accepted, err := r.accept(ctx, &ag)
	if err != nil || accepted == nil {
		return ctrl.Result{}, err
	}
	if execution.RerunPending(&ag) && execution.IsFinished(&ag) {
		return ctrl.Result{}, r.rerun(ctx, &ag, accepted)
	}
	if !admitted {
		return ctrl.Result{}, r.writeStatus(ctx, &ag, r.waitingStatus(&ag))
	}
	return r.run(ctx, &ag, accepted)
}

// endBeforeAdmission ends a cancelled Agenda the scheduler has not admitted, valid or not,
// and reports whether the Agenda ended before admission (now or earlier): such an Agenda
// is left as it ended, since validating it or calling it queued again would rewrite its
// final phase. A finished Agenda with a rerun pending goes on to be rerun.
func (r *AgendaReconciler) endBeforeAdmission(ctx context.Context, ag *popv1.Agenda) (bool, error) {
	if execution.IsFinished(ag) {
		return !execution.RerunPending(ag), nil
	}
	if !ag.Spec.Cancel {
		return false, nil
	}
	return true, r.writeStatus(ctx, ag, execution.CancelPending(ag, r.now()))
}

// stopDeleted ends an Agenda deleted before it finished, which a finalizer (the AWS
// bridge's) keeps for a while: its Pods are stopped and its status says it ended, which is
// what releases its Insight's capacity (the scheduler counts from status). The finalizer's
// owner does the rest; the Pods' owner reference removes what remains.
func (r *AgendaReconciler) stopDeleted(ctx context.Context, ag *popv1.Agenda) (ctrl.Result, error) {
	if execution.IsFinished(ag) {
		return ctrl.Result{}, nil
	}
	logf.FromContext(ctx).Info("Stopping Agenda: it is being deleted")
	g, errs := r.graphs.build(ag)
	if !meta.IsStatusConditionTrue(ag.Status.Conditions, popv1.AgendaAdmitted) || len(errs) > 0 {
		st := execution.EndWithoutRunning(ag, popv1.ReasonDeleted, "the Agenda is being deleted", r.now())
		return ctrl.Result{}, r.writeStatus(ctx, ag, st)
	}
	handlers, unavailable, err := r.findHandlers(ctx, ag)
	if err != nil {
		return ctrl.Result{}, err
	}
	// The planner stops every operation of an Agenda being deleted and deletes its Pods.
	return r.run(ctx, ag, &acceptance{graph: g, handlers: handlers, unavailable: unavailable})
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

// waitingStatus is the status of an accepted Agenda the scheduler has not admitted yet.
func (r *AgendaReconciler) waitingStatus(ag *popv1.Agenda) popv1.AgendaStatus {
	st := *ag.Status.DeepCopy()
	st.Phase = popv1.PhasePending
	if meta.IsStatusConditionTrue(st.Conditions, popv1.AgendaQueued) {
		st.Phase = popv1.PhaseQueued
	}
	st.ObservedGeneration = ag.Generation
	return st
}

func (r *AgendaReconciler) rerun(ctx context.Context, ag *popv1.Agenda, acc *acceptance) error {
	logf.FromContext(ctx).Info("Rerunning Agenda", "rerun", ag.Spec.Rerun.ID)
	if err := r.writeStatus(ctx, ag, execution.Rerun(ag, acc.graph)); err != nil {
		return err
	}
	r.Recorder.Eventf(ag, nil, corev1.EventTypeNormal, popv1.ReasonRerunRequested, "Rerun",
		"Rerun %q (%s): back to the queue", ag.Spec.Rerun.ID, ag.Spec.Rerun.Mode)
	return nil
}

// writeStatus patches status when it changed. The optimistic lock makes a write based on
// a stale read fail (and the reconcile retry) instead of overwriting the scheduler's
// Admitted condition or a newer outcome. Events and metrics follow only a stored write: a
// refused one is computed again by the retry, which would count the same change twice.
func (r *AgendaReconciler) writeStatus(ctx context.Context, ag *popv1.Agenda, st popv1.AgendaStatus) error {
	if statusEqual(ag.Status, st) {
		return nil
	}
	before := ag.DeepCopy()
	ag.Status = st
	patch := client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})
	err := r.Client.Status().Patch(ctx, ag, patch, client.FieldOwner(AgendaFieldOwner))
	switch {
	case err == nil:
		r.written.Store(client.ObjectKeyFromObject(ag), writtenVersion{uid: ag.UID, resourceVersion: ag.ResourceVersion})
		r.recordTransitions(ctx, before, &st)
		return nil
	case apierrors.IsNotFound(err):
		return nil
	case apierrors.IsConflict(err):
		return errStale
	}
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
