package webhooks

import (
	"context"

	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/templates"
)

// AgendaTemplateValidator validates AgendaTemplates on create and update: their parameter
// declarations, and their operations as an Agenda would hold them with every parameter at
// its default.
type AgendaTemplateValidator struct{}

// +kubebuilder:webhook:path=/validate-pop-dev-v1alpha1-agendatemplate,mutating=false,failurePolicy=fail,sideEffects=None,groups=pop.dev,resources=agendatemplates,verbs=create;update,versions=v1alpha1,name=vagendatemplate.pop.dev,admissionReviewVersions=v1

// SetupAgendaTemplateWebhook registers the validator with the manager's webhook server.
func SetupAgendaTemplateWebhook(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &popv1.AgendaTemplate{}).WithValidator(&AgendaTemplateValidator{}).Complete()
}

// ValidateCreate rejects a template with bad declarations or an invalid graph.
func (v *AgendaTemplateValidator) ValidateCreate(_ context.Context, tpl *popv1.AgendaTemplate) (admission.Warnings, error) {
	return nil, invalidTemplate(tpl, ValidateTemplate(&tpl.Spec))
}

// ValidateUpdate judges the new spec as a new one: Agendas already made from the template
// hold their own copy, so nothing of the old spec needs keeping.
func (v *AgendaTemplateValidator) ValidateUpdate(_ context.Context, _, tpl *popv1.AgendaTemplate) (admission.Warnings, error) {
	return nil, invalidTemplate(tpl, ValidateTemplate(&tpl.Spec))
}

// ValidateDelete allows every delete: Agendas made from the template keep their operations.
func (v *AgendaTemplateValidator) ValidateDelete(context.Context, *popv1.AgendaTemplate) (admission.Warnings, error) {
	return nil, nil
}

// ValidateTemplate checks a template's declarations (templates.CheckDeclarations) and its
// operations as an Agenda whose params are the parameters' defaults (validateSpec), with
// the template's field paths.
func ValidateTemplate(spec *popv1.AgendaTemplateSpec) field.ErrorList {
	if err := templates.CheckDeclarations(templates.Parameters(spec.Parameters), templates.ParametersField); err != nil {
		return field.ErrorList{fieldError(err)}
	}
	ag := &popv1.Agenda{Spec: popv1.AgendaSpec{Operations: spec.Operations, Params: templates.Defaults(spec.Parameters),
		FailurePolicy: spec.FailurePolicy}}
	return validateSpec(ag)
}

// fieldError turns a templates.FieldError into a field error with its path.
func fieldError(err error) *field.Error { return templates.ToFieldError(err) }

func invalidTemplate(tpl *popv1.AgendaTemplate, errs field.ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	return newInvalid("AgendaTemplate", tpl.Name, errs)
}
