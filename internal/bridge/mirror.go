package bridge

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/metrics"
)

// Mirror keeps one DynamoDB record per mirrored Agenda equal to the Agenda's state. It is
// a controller, so every state change reaches it, a failed write is retried with backoff
// (DynamoDB down for a while: the mirror catches up), and a deleted Agenda's record is
// removed before the Agenda goes (the MirrorFinalizer).
type Mirror struct {
	Client client.Client
	Store  *Store
	Scope  MirrorScope
	TTL    time.Duration
	// TombstoneRetention is how long a deleted bridged Agenda's tombstone keeps its key
	// taken; 0 keeps it forever.
	TombstoneRetention time.Duration
	// Center is this cluster's name: the mirror writes only the records of keys it holds
	// the claim on, and renews the claims of unfinished Agendas every Lease/3.
	Center string
	Lease  time.Duration
}

// +kubebuilder:rbac:groups=pop.dev,resources=agendas,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=pop.dev,resources=agendas/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get,resourceNames=pop-bridge-signing

// SetupWithManager registers the mirror controller.
func (m *Mirror) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("dynamodb-mirror").
		For(&popv1.Agenda{}, builder.WithPredicates(predicate.NewPredicateFuncs(m.inScope))).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: concurrency,
			// Capped backoff: after an outage the records catch up within seconds.
			RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](100*time.Millisecond, 10*time.Second),
		}).
		Complete(m)
}

func (m *Mirror) inScope(obj client.Object) bool {
	return m.Scope == MirrorAll || obj.GetLabels()[SourceLabel] == SourceSQS ||
		controllerutil.ContainsFinalizer(obj, MirrorFinalizer)
}

// Reconcile writes the Agenda's record, or deletes it when the Agenda is being deleted.
func (m *Mirror) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var ag popv1.Agenda
	if err := m.Client.Get(ctx, req.NamespacedName, &ag); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	customer, err := m.customerOf(ctx, ag.Namespace)
	if err != nil {
		return ctrl.Result{}, err
	}
	if !ag.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, m.forget(ctx, &ag, customer)
	}
	if !controllerutil.ContainsFinalizer(&ag, MirrorFinalizer) {
		// An Agenda made with kubectl (Scope all): hold its deletion for the record too.
		patch := client.MergeFromWithOptions(ag.DeepCopy(), client.MergeFromWithOptimisticLock{})
		controllerutil.AddFinalizer(&ag, MirrorFinalizer)
		if err := m.Client.Patch(ctx, &ag, patch); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	return m.write(ctx, &ag, customer)
}

// write puts the Agenda's record as the claiming center and, while the Agenda is
// unfinished, renews the claim and comes back before the lease lapses.
func (m *Mirror) write(ctx context.Context, ag *popv1.Agenda, customer string) (ctrl.Result, error) {
	now := time.Now()
	written, err := m.Store.Put(ctx, heldBy(RecordOf(ag, customer, now, m.TTL), ag, m.Center, now, m.Lease))
	if err == nil && !written && !popv1.IsFinished(ag) {
		err = m.Store.Renew(ctx, customer, AgendaIDOf(ag), m.Center, now.Add(m.Lease))
	}
	if errors.Is(err, ErrClaimedElsewhere) {
		metrics.MirrorWrites.WithLabelValues("stale").Inc()
		return ctrl.Result{}, m.lostClaim(ctx, ag)
	}
	if errors.Is(err, ErrTombstoned) {
		// An Agenda under a deleted one's key (made with kubectl, or in a race the intake
		// undoes): the tombstone stays, the client keeps seeing the first Agenda's end.
		metrics.MirrorWrites.WithLabelValues("stale").Inc()
		return ctrl.Result{}, nil
	}
	if err != nil {
		metrics.MirrorWrites.WithLabelValues("error").Inc()
		return ctrl.Result{}, err
	}
	if written {
		metrics.MirrorWrites.WithLabelValues("written").Inc()
	} else {
		metrics.MirrorWrites.WithLabelValues("stale").Inc()
	}
	if popv1.IsFinished(ag) {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: m.Lease / 3}, nil
}

// lostClaim handles an Agenda whose key another center holds: this center's lease lapsed
// (it was cut off longer than the lease) and the other center took the claim over and
// runs the work. A bridged Agenda still running here is cancelled, so that the work runs
// in one center; its record stays the other center's.
func (m *Mirror) lostClaim(ctx context.Context, ag *popv1.Agenda) error {
	if ag.Labels[SourceLabel] != SourceSQS || popv1.IsFinished(ag) || ag.Spec.Cancel {
		return nil
	}
	patch := client.MergeFrom(ag.DeepCopy())
	ag.Spec.Cancel = true
	if err := m.Client.Patch(ctx, ag, patch); client.IgnoreNotFound(err) != nil {
		return err
	}
	ctrl.LoggerFrom(ctx).Info("Cancelled an Agenda whose claim another center took over", "agenda", client.ObjectKeyFromObject(ag).String())
	return nil
}

// forget turns a bridged Agenda's record into a tombstone, or deletes another's record,
// then lets the Agenda go. The tombstone keeps the agendaId taken for TombstoneRetention:
// without it a resent message would find neither Agenda nor record and run again.
func (m *Mirror) forget(ctx context.Context, ag *popv1.Agenda, customer string) error {
	if !controllerutil.ContainsFinalizer(ag, MirrorFinalizer) {
		return nil
	}
	var err error
	if ag.Labels[SourceLabel] == SourceSQS {
		t := TombstoneOf(ag, customer, time.Now(), m.TombstoneRetention)
		t.Center, t.TakenOverFrom = m.Center, ag.Annotations[TakenOverAnnotation]
		err = m.Store.PutTombstone(ctx, t)
	} else {
		err = m.Store.Delete(ctx, customer, AgendaIDOf(ag), m.Center)
	}
	if err != nil {
		metrics.MirrorWrites.WithLabelValues("error").Inc()
		return err
	}
	metrics.MirrorWrites.WithLabelValues("deleted").Inc()
	patch := client.MergeFromWithOptions(ag.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(ag, MirrorFinalizer)
	return client.IgnoreNotFound(m.Client.Patch(ctx, ag, patch))
}

func (m *Mirror) customerOf(ctx context.Context, namespace string) (string, error) {
	var ns corev1.Namespace
	err := m.Client.Get(ctx, client.ObjectKey{Name: namespace}, &ns)
	if apierrors.IsNotFound(err) {
		return namespace, nil
	}
	if err != nil {
		return "", err
	}
	return popv1.CustomerOf(namespace, ns.Labels), nil
}
