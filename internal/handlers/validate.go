// Package handlers holds what POP knows about handler containers: the environment it gives
// them and the checks a HandlerType must pass beyond its CRD schema.
package handlers

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// ReservedEnv are the variables POP sets in every handler container. The first group is
// POP for Kubernetes' own; the second keeps handlers written for the original POP working.
var ReservedEnv = []string{
	"POP_PAYLOAD", "POP_AGENDA", "POP_OPERATION", "POP_NAMESPACE", "POP_CUSTOMER", "POP_ATTEMPT",
	"POP_OUTPUT_MODE", "POP_POD_NAME",
	"PAYLOAD", "AGENDA_ID", "OPERATION_NAME", "CUSTOMER_ID", "CID", "OPERATION_ID", "PROGRESS_ID", "LAST_PROGRESS",
}

func isReserved(name string) bool {
	for _, r := range ReservedEnv {
		if r == name {
			return true
		}
	}
	return false
}

// ValidateSpec returns every problem the CRD schema cannot catch, with field paths.
func ValidateSpec(spec *popv1.HandlerTypeSpec) error {
	var errs field.ErrorList
	specPath := field.NewPath("spec")
	for i, env := range spec.Env {
		if isReserved(env.Name) {
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
