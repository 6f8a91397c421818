package webhooks

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/templates"
)

// unresolved reports whether an Agenda names a template whose operations the controller has
// not written into it yet.
func unresolved(ag *popv1.Agenda) bool {
	return ag.Spec.Template != "" && len(ag.Spec.Operations) == 0
}

// templateUse checks how an Agenda uses spec.template and spec.arguments (old is nil on
// create): arguments only with a template; operations or a template, not both, except
// for the controller's resolving update, which carries the pop.dev/template annotation;
// template and arguments fixed once resolved; the arguments bound to the template's
// parameters when the template exists (when it does not, the controller waits for it).
func (v *AgendaValidator) templateUse(ctx context.Context, old, ag *popv1.Agenda) field.ErrorList {
	if ag.Spec.Template == "" {
		return withoutTemplate(ag)
	}
	switch {
	case old != nil && old.Spec.Template != "" && !unresolved(old):
		return resolvedFixed(old, ag)
	case len(ag.Spec.Operations) > 0 && old != nil && unresolved(old) && ag.Annotations[popv1.TemplateAnnotation] != "":
		return nil // the controller's resolution
	case len(ag.Spec.Operations) > 0:
		return field.ErrorList{field.Forbidden(field.NewPath("spec", "operations"), "give operations or spec.template, not both")}
	}
	tpl := v.findTemplate(ctx, ag.Namespace, ag.Spec.Template)
	if tpl == nil {
		return nil
	}
	if _, err := templates.Resolve(&tpl.Spec, &ag.Spec); err != nil {
		return field.ErrorList{fieldError(err)}
	}
	return nil
}

// withoutTemplate checks an Agenda that names no template: it needs operations, and may
// not give arguments.
func withoutTemplate(ag *popv1.Agenda) field.ErrorList {
	spec := field.NewPath("spec")
	switch {
	case ag.Spec.Arguments != nil:
		return field.ErrorList{field.Forbidden(spec.Child("arguments"), "only with spec.template")}
	case len(ag.Spec.Operations) == 0:
		return field.ErrorList{field.Required(spec.Child("operations"), "give operations or spec.template")}
	}
	return nil
}

// resolvedFixed refuses to change the template or arguments of a resolved Agenda: its
// operations and params came from them.
func resolvedFixed(old, ag *popv1.Agenda) field.ErrorList {
	var errs field.ErrorList
	const why = "cannot change once the template was resolved into spec.operations: create another Agenda"
	if old.Spec.Template != ag.Spec.Template {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "template"), why))
	}
	if !equality.Semantic.DeepEqual(old.Spec.Arguments, ag.Spec.Arguments) {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "arguments"), why))
	}
	return errs
}

// findTemplate reads the template from the Agenda's namespace, then the operator's; nil
// when neither has it or it cannot be read (the controller then decides).
func (v *AgendaValidator) findTemplate(ctx context.Context, namespace, name string) *popv1.AgendaTemplate {
	if v.Reader == nil {
		return nil
	}
	for _, ns := range []string{namespace, v.OperatorNamespace} {
		if ns == "" {
			continue
		}
		var tpl popv1.AgendaTemplate
		err := v.Reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &tpl)
		if err == nil {
			return &tpl
		}
		if !apierrors.IsNotFound(err) {
			logf.FromContext(ctx).Error(err, "Reading an AgendaTemplate for the webhook failed", "template", ns+"/"+name)
			return nil
		}
	}
	return nil
}
