package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// SetupWithManager registers the controller: Agendas, the Pods they own, the HandlerTypes
// their operations need and the AgendaTemplates they name.
func (r *AgendaReconciler) SetupWithManager(mgr ctrl.Manager, opts Options) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&popv1.Agenda{}).
		Owns(&corev1.Pod{}).
		Watches(&popv1.HandlerType{}, handler.EnqueueRequestsFromMapFunc(r.agendasUsing)).
		Watches(&popv1.AgendaTemplate{}, handler.EnqueueRequestsFromMapFunc(r.agendasNaming)).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.MaxConcurrentReconciles}).
		Named("agenda").
		Complete(r)
}

// agendasUsing maps a HandlerType event to the unfinished Agendas with an operation of its
// type: those of its namespace, or of every namespace for the operator's defaults. Those
// waiting to be accepted may now run; running ones may start the attempts they held.
func (r *AgendaReconciler) agendasUsing(ctx context.Context, obj client.Object) []reconcile.Request {
	var list popv1.AgendaList
	var opts []client.ListOption
	if obj.GetNamespace() != r.OperatorNamespace {
		opts = append(opts, client.InNamespace(obj.GetNamespace()))
	}
	if err := r.Client.List(ctx, &list, opts...); err != nil {
		logf.FromContext(ctx).Error(err, "Listing Agendas for a HandlerType change failed")
		return nil
	}
	var reqs []reconcile.Request
	for i := range list.Items {
		ag := &list.Items[i]
		if popv1.IsFinished(ag) {
			continue
		}
		for _, op := range ag.Spec.Operations {
			if op.Type == obj.GetName() {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(ag)})
				break
			}
		}
	}
	return reqs
}
