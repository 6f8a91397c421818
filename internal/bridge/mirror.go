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
	written, err := m.Store.Put(ctx, RecordOf(&ag, customer, time.Now(), m.TTL))
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
	return ctrl.Result{}, nil
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
		err = m.Store.PutTombstone(ctx, TombstoneOf(ag, customer, time.Now(), m.TombstoneRetention))
	} else {
		err = m.Store.Delete(ctx, customer, AgendaIDOf(ag))
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
