package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/handlers"
)

// HandlerTypeReconciler keeps a HandlerType's Ready condition true to its spec.
type HandlerTypeReconciler struct {
	Client client.Client
}

// +kubebuilder:rbac:groups=pop.dev,resources=handlertypes,verbs=get;list;watch
// +kubebuilder:rbac:groups=pop.dev,resources=handlertypes/status,verbs=get;update;patch

// Reconcile recomputes the Ready condition from the spec.
func (r *HandlerTypeReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var ht popv1.HandlerType
	if err := r.Client.Get(ctx, req.NamespacedName, &ht); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := ht.DeepCopy()
	setHandlerTypeReadyCondition(&ht)
	ht.Status.ObservedGeneration = ht.Generation
	if equality.Semantic.DeepEqual(before.Status, ht.Status) {
		return ctrl.Result{}, nil
	}
	err := r.Client.Status().Patch(ctx, &ht, client.MergeFrom(before))
	if apierrors.IsNotFound(err) {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, err
}

// setHandlerTypeReadyCondition sets Ready from the checks the API server cannot make.
func setHandlerTypeReadyCondition(ht *popv1.HandlerType) {
	cond := metav1.Condition{
		Type:               popv1.HandlerTypeReady,
		Status:             metav1.ConditionTrue,
		Reason:             popv1.ReasonValid,
		Message:            "HandlerType can run operations",
		ObservedGeneration: ht.Generation,
	}
	if err := handlers.ValidateSpec(&ht.Spec); err != nil {
		cond.Status = metav1.ConditionFalse
		cond.Reason = popv1.ReasonInvalidSpec
		cond.Message = err.Error()
	}
	meta.SetStatusCondition(&ht.Status.Conditions, cond)
}

// SetupWithManager registers the controller.
func (r *HandlerTypeReconciler) SetupWithManager(mgr ctrl.Manager, opts Options) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&popv1.HandlerType{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.MaxConcurrentReconciles}).
		Named("handlertype").
		Complete(r)
}
