// Package webhooks holds POP's admission webhooks: they reject at the door what the CRD
// schema cannot, with the same field paths the controller reports in status.
package webhooks

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/dag"
)

// AgendaValidator validates Agendas on create and update.
type AgendaValidator struct{}

// +kubebuilder:webhook:path=/validate-pop-dev-v1alpha1-agenda,mutating=false,failurePolicy=fail,sideEffects=None,groups=pop.dev,resources=agendas,verbs=create;update,versions=v1alpha1,name=vagenda.pop.dev,admissionReviewVersions=v1

// SetupAgendaWebhook registers the validator with the manager's webhook server.
func SetupAgendaWebhook(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &popv1.Agenda{}).WithValidator(&AgendaValidator{}).Complete()
}

// ValidateCreate rejects an Agenda whose graph is invalid.
func (v *AgendaValidator) ValidateCreate(_ context.Context, ag *popv1.Agenda) (admission.Warnings, error) {
	return nil, invalid(ag, validateGraph(ag))
}

// ValidateUpdate judges the graph only when what it is built from changed, so that an
// Agenda stored under older rules can still be cancelled, relabelled or freed of a
// finalizer. It also refuses to change the operations or params of an Agenda that has been
// admitted and not finished: Pods already run from them.
func (v *AgendaValidator) ValidateUpdate(_ context.Context, old, ag *popv1.Agenda) (admission.Warnings, error) {
	var errs field.ErrorList
	if graphInputsChanged(old, ag) {
		errs = validateGraph(ag)
	}
	if running(old) {
		if !equality.Semantic.DeepEqual(old.Spec.Operations, ag.Spec.Operations) {
			errs = append(errs, field.Forbidden(field.NewPath("spec", "operations"),
				"cannot change while the Agenda runs: cancel it, or wait until it finishes and rerun"))
		}
		if !equality.Semantic.DeepEqual(old.Spec.Params, ag.Spec.Params) {
			errs = append(errs, field.Forbidden(field.NewPath("spec", "params"),
				"cannot change while the Agenda runs: cancel it, or wait until it finishes and rerun"))
		}
	}
	return nil, invalid(ag, errs)
}

// ValidateDelete allows every delete.
func (v *AgendaValidator) ValidateDelete(context.Context, *popv1.Agenda) (admission.Warnings, error) {
	return nil, nil
}

func validateGraph(ag *popv1.Agenda) field.ErrorList {
	_, errs := dag.Build(&ag.Spec)
	return errs
}

// graphInputsChanged reports whether an update touches what dag.Build reads: the
// operations, the params and the rerun request.
func graphInputsChanged(old, ag *popv1.Agenda) bool {
	return !equality.Semantic.DeepEqual(old.Spec.Operations, ag.Spec.Operations) ||
		!equality.Semantic.DeepEqual(old.Spec.Params, ag.Spec.Params) ||
		!equality.Semantic.DeepEqual(old.Spec.Rerun, ag.Spec.Rerun)
}

func running(ag *popv1.Agenda) bool {
	return meta.IsStatusConditionTrue(ag.Status.Conditions, popv1.AgendaAdmitted) &&
		!meta.IsStatusConditionTrue(ag.Status.Conditions, popv1.AgendaSucceeded) &&
		!meta.IsStatusConditionTrue(ag.Status.Conditions, popv1.AgendaFailed)
}

func invalid(ag *popv1.Agenda, errs field.ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(popv1.GroupVersion.WithKind("Agenda").GroupKind(), ag.Name, errs)
}
