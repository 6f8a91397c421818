package controllers

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/dag"
	"github.com/pop-operator/pop/internal/execution"
	"github.com/pop-operator/pop/internal/templates"
)

// +kubebuilder:rbac:groups=pop.dev,resources=agendatemplates,verbs=get;list;watch
// +kubebuilder:rbac:groups=pop.dev,resources=agendas,verbs=update

// needsTemplate reports whether an Agenda names a template not yet resolved into its spec,
// and is still to run: one cancelled or deleted first ends as any other.
func needsTemplate(ag *popv1.Agenda) bool {
	return ag.Spec.Template != "" && len(ag.Spec.Operations) == 0 &&
		ag.DeletionTimestamp.IsZero() && !ag.Spec.Cancel && !popv1.IsFinished(ag)
}

// resolveTemplate writes the Agenda's template into it, once, before it is accepted: the
// template's operations, the bound arguments as params, the template-level fields
// (templates.Resolve), and the pop.dev/template annotation naming the template's version.
// It is one Update under the Agenda's resourceVersion, so a concurrent change to the Agenda
// makes it retry rather than overwrite. A missing template is waited for (TemplateMissing,
// then Failed after the launch wait); arguments that do not fit make the Agenda invalid
// until they are fixed.
func (r *AgendaReconciler) resolveTemplate(ctx context.Context, ag *popv1.Agenda) (ctrl.Result, error) {
	tpl, err := r.findTemplate(ctx, ag.Namespace, ag.Spec.Template)
	if err != nil {
		return ctrl.Result{}, err
	}
	if tpl == nil {
		why := fmt.Sprintf("AgendaTemplate %q not found in namespace %q or %q", ag.Spec.Template, ag.Namespace, r.OperatorNamespace)
		plan := execution.AwaitTemplate(ag, why, r.now(), r.LaunchWait)
		return ctrl.Result{RequeueAfter: plan.RequeueAfter}, r.writeStatus(ctx, ag, agendaView{full: ag}, plan.Status)
	}
	spec, errs := resolvedSpec(tpl, ag)
	if len(errs) > 0 {
		plan := execution.Decide(execution.Observed{Agenda: ag, Now: r.now(), SpecErrors: errs})
		return ctrl.Result{}, r.writeStatus(ctx, ag, agendaView{full: ag}, plan.Status)
	}
	ref, _ := json.Marshal(popv1.TemplateRef{Namespace: tpl.Namespace, Name: tpl.Name, UID: string(tpl.UID), ResourceVersion: tpl.ResourceVersion})
	resolved := ag.DeepCopy()
	resolved.Spec = *spec
	if resolved.Annotations == nil {
		resolved.Annotations = map[string]string{}
	}
	resolved.Annotations[popv1.TemplateAnnotation] = string(ref)
	err = r.Client.Update(ctx, resolved, client.FieldOwner(AgendaFieldOwner))
	switch {
	case apierrors.IsConflict(err):
		return ctrl.Result{}, errStale
	case apierrors.IsNotFound(err):
		return ctrl.Result{}, nil
	case err != nil:
		return ctrl.Result{}, err
	}
	// The next reconcile must read this version, not the cache's older one.
	r.written.Store(client.ObjectKeyFromObject(resolved), writtenVersion{uid: resolved.UID, resourceVersion: resolved.ResourceVersion})
	logf.FromContext(ctx).Info("Resolved the Agenda's template", "template", tpl.Namespace+"/"+tpl.Name,
		"templateResourceVersion", tpl.ResourceVersion)
	return ctrl.Result{}, nil
}

// resolvedSpec is the Agenda's spec with its template resolved, or why it cannot be: the
// arguments refused, or the result not a valid graph (the webhook would refuse it).
func resolvedSpec(tpl *popv1.AgendaTemplate, ag *popv1.Agenda) (*popv1.AgendaSpec, field.ErrorList) {
	spec, err := templates.Resolve(&tpl.Spec, &ag.Spec)
	if err != nil {
		return nil, field.ErrorList{templates.ToFieldError(err)}
	}
	if _, errs := dag.Build(spec); len(errs) > 0 {
		return nil, errs
	}
	return spec, nil
}

// findTemplate looks the template up in the Agenda's namespace, then the operator's, in the
// cache and then on the API server; nil when it exists in neither.
func (r *AgendaReconciler) findTemplate(ctx context.Context, namespace, name string) (*popv1.AgendaTemplate, error) {
	return nearest[popv1.AgendaTemplate](ctx, r, namespace, name)
}

// agendasNaming maps an AgendaTemplate event to the Agendas waiting for it: unresolved ones
// that name it, in its namespace, or in every namespace for the operator's defaults.
func (r *AgendaReconciler) agendasNaming(ctx context.Context, obj client.Object) []reconcile.Request {
	var list popv1.AgendaList
	var opts []client.ListOption
	if obj.GetNamespace() != r.OperatorNamespace {
		opts = append(opts, client.InNamespace(obj.GetNamespace()))
	}
	if err := r.Client.List(ctx, &list, opts...); err != nil {
		logf.FromContext(ctx).Error(err, "Listing Agendas for an AgendaTemplate change failed")
		return nil
	}
	var reqs []reconcile.Request
	for i := range list.Items {
		if ag := &list.Items[i]; needsTemplate(ag) && ag.Spec.Template == obj.GetName() {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(ag)})
		}
	}
	return reqs
}
