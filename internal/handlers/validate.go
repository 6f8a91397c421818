// Package handlers holds the checks a HandlerType must pass beyond its CRD schema. The
// environment POP gives handler containers, which a HandlerType may not set, is the handler
// contract of pkg/handler.
package handlers

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/pkg/handler"
)

// ValidateSpec returns every problem the CRD schema cannot catch, with field paths.
func ValidateSpec(spec *popv1.HandlerTypeSpec) error {
	var errs field.ErrorList
	specPath := field.NewPath("spec")
	for i, env := range spec.Env {
		if handler.IsReserved(env.Name) {
			errs = append(errs, field.Invalid(specPath.Child("env").Index(i).Child("name"), env.Name,
				"reserved: POP sets this variable for every handler"))
		}
	}
	res := spec.Resources
	for name, req := range res.Requests {
		if lim, ok := res.Limits[name]; ok && req.Cmp(lim) > 0 {
			errs = append(errs, field.Invalid(specPath.Child("resources", "requests").Key(string(name)), req.String(),
				fmt.Sprintf("must not exceed the limit %s", lim.String())))
		}
	}
	return errs.ToAggregate()
}
