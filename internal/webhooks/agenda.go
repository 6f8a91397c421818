// Package webhooks holds POP's admission webhooks: they reject at the door what the CRD
// schema cannot, with the same field paths the controller reports in status.
package webhooks

import (
	"context"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/dag"
	"github.com/pop-operator/pop/internal/retrypolicy"
)

// AgendaValidator validates Agendas on create and update.
type AgendaValidator struct {
	// Reader reads the AgendaTemplates an Agenda names (nil: arguments are not bound).
	Reader client.Reader
	// OperatorNamespace holds the cluster-wide default AgendaTemplates.
	OperatorNamespace string
}

// +kubebuilder:webhook:path=/validate-pop-dev-v1alpha1-agenda,mutating=false,failurePolicy=fail,sideEffects=None,groups=pop.dev,resources=agendas,verbs=create;update,versions=v1alpha1,name=vagenda.pop.dev,admissionReviewVersions=v1

// SetupAgendaWebhook registers the Agenda and AgendaTemplate validators with the manager's
// webhook server; operatorNamespace holds the cluster-wide default templates.
func SetupAgendaWebhook(mgr ctrl.Manager, operatorNamespace string) error {
	v := &AgendaValidator{Reader: mgr.GetAPIReader(), OperatorNamespace: operatorNamespace}
	if err := ctrl.NewWebhookManagedBy(mgr, &popv1.Agenda{}).WithValidator(v).Complete(); err != nil {
		return err
	}
	return SetupAgendaTemplateWebhook(mgr)
}

// ValidateCreate rejects an Agenda whose graph is invalid or whose requests exceed limits,
// and one whose arguments do not fit its template.
func (v *AgendaValidator) ValidateCreate(ctx context.Context, ag *popv1.Agenda) (admission.Warnings, error) {
	errs := v.templateUse(ctx, nil, ag)
	if !unresolved(ag) {
		errs = append(errs, validateSpec(ag)...)
	}
	return nil, invalid(ag, errs)
}

// ValidateUpdate judges the spec only when what validateSpec reads changed, so that an
// Agenda stored under older rules can still be cancelled, relabelled or freed of a
// finalizer. It also refuses to change the operations or params of an Agenda that has been
// admitted and not finished: Pods already run from them.
func (v *AgendaValidator) ValidateUpdate(ctx context.Context, old, ag *popv1.Agenda) (admission.Warnings, error) {
	var errs field.ErrorList
	if validatedFieldsChanged(old, ag) {
		errs = v.templateUse(ctx, old, ag)
	}
	if validatedFieldsChanged(old, ag) && !unresolved(ag) {
		errs = append(errs, validateSpec(ag)...)
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

// validateSpec checks what needs Go: the graph, and operation resources whose requests
// exceed their limits (every Pod would be refused; a CEL rule over 1,000 operations' maps
// costs more than the API server allows).
func validateSpec(ag *popv1.Agenda) field.ErrorList {
	_, errs := dag.Build(&ag.Spec)
	for i, op := range ag.Spec.Operations {
		if op.RetryPolicy != nil {
			errs = append(errs, validateRetryPolicy(op.RetryPolicy, field.NewPath("spec", "operations").Index(i).Child("retryPolicy"))...)
		}
		if op.Resources != nil {
			errs = append(errs, validateRequests(op.Resources, field.NewPath("spec", "operations").Index(i).Child("resources"))...)
		}
	}
	return errs
}

// validateRetryPolicy repeats the schema's bounds on a retry policy (for an Agenda stored
// before them) with retrypolicy's rules.
func validateRetryPolicy(rp *popv1.RetryPolicy, path *field.Path) field.ErrorList {
	pol := retrypolicy.Policy{NeverRetryExitCodes: rp.NeverRetryExitCodes}
	for _, c := range rp.RetryOn {
		pol.RetryOn = append(pol.RetryOn, retrypolicy.Class(c))
	}
	if err := pol.Validate(path.String()); err != nil {
		return field.ErrorList{field.Invalid(path, "", err.Error())}
	}
	return nil
}

func validateRequests(res *corev1.ResourceRequirements, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := make([]string, 0, len(res.Requests))
	for name := range res.Requests {
		names = append(names, string(name))
	}
	sort.Strings(names) // one order for the same mistakes
	for _, name := range names {
		request := res.Requests[corev1.ResourceName(name)]
		if limit, ok := res.Limits[corev1.ResourceName(name)]; ok && request.Cmp(limit) > 0 {
			errs = append(errs, field.Invalid(path.Child("requests").Key(name), request.String(),
				"requests must not exceed limits (limit "+limit.String()+")"))
		}
	}
	return errs
}

// validatedFieldsChanged reports whether an update touches what validateSpec reads: the
// operations, the params, the template, its arguments and the rerun request.
func validatedFieldsChanged(old, ag *popv1.Agenda) bool {
	return !equality.Semantic.DeepEqual(old.Spec.Operations, ag.Spec.Operations) ||
		old.Spec.Template != ag.Spec.Template ||
		!equality.Semantic.DeepEqual(old.Spec.Arguments, ag.Spec.Arguments) ||
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
	return newInvalid("Agenda", ag.Name, errs)
}

func newInvalid(kind, name string, errs field.ErrorList) error {
	return apierrors.NewInvalid(popv1.GroupVersion.WithKind(kind).GroupKind(), name, errs)
}
