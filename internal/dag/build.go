package dag

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/depends"
	"github.com/pop-operator/pop/internal/fanout"
	"github.com/pop-operator/pop/internal/refs"
	"github.com/pop-operator/pop/internal/when"
)

var operationsPath = field.NewPath("spec", "operations")

// specBytes is the spec's size as JSON, which MaxSpecBytes bounds.
func specBytes(spec *popv1.AgendaSpec) int {
	b, err := json.Marshal(spec)
	if err != nil {
		return 0
	}
	return len(b)
}

// Build validates spec's operations and returns their graph. Every problem is returned,
// each with its exact field path; the graph is nil when there is any.
func Build(spec *popv1.AgendaSpec) (*Graph, field.ErrorList) {
	names, errs := collectNames(spec.Operations)
	if n := specBytes(spec); n > popv1.MaxSpecBytes {
		errs = append(errs, field.TooLong(field.NewPath("spec"), fmt.Sprintf("%d bytes of JSON", n), popv1.MaxSpecBytes))
	}
	index := make(map[string]int, len(names))
	for i, n := range names {
		if _, dup := index[n]; !dup {
			index[n] = i
		}
	}
	// depSets[i][d] is true when operation i requires d's success, false when it reads d
	// only through optional references.
	depSets := make([]map[int]bool, len(names))
	conditions := make([]*when.Condition, len(names))
	forEach := make([]*fanout.ForEach, len(names))
	literalItems := 0
	for i := range spec.Operations {
		var opErrs field.ErrorList
		depSets[i], conditions[i], opErrs = operationDeps(&spec.Operations[i], i, index)
		errs = append(errs, opErrs...)
		var feErrs field.ErrorList
		forEach[i], feErrs = forEachDeps(&spec.Operations[i], i, index, depSets[i])
		errs = append(errs, feErrs...)
		if forEach[i] != nil {
			literalItems += len(forEach[i].Literal)
			if literalItems > popv1.MaxGeneratedOperations && len(forEach[i].Literal) > 0 {
				errs = append(errs, field.TooMany(operationsPath.Index(i).Child("forEach"), literalItems, popv1.MaxGeneratedOperations))
			}
		}
	}
	errs = append(errs, finallyDeps(spec.Operations, depSets)...)
	errs = append(errs, validateRerun(spec.Rerun, index)...)
	if len(errs) > 0 {
		return nil, errs
	}
	g := newGraph(names, depSets)
	g.conditions = conditions
	g.forEach = forEach
	g.after = make([][]depends.Requirement, len(names))
	g.finally = make([]bool, len(names))
	for i := range spec.Operations {
		g.finally[i] = spec.Operations[i].Finally
		for _, r := range spec.Operations[i].After {
			g.after[i] = append(g.after[i], depends.Requirement{Operation: r.Operation, Outcome: depends.Outcome(r.Outcome)})
		}
	}
	order, stuck := g.topoSort()
	if len(stuck) > 0 {
		return nil, field.ErrorList{cycleError(g, g.findCycle(stuck))}
	}
	g.order = order
	return g, nil
}

func collectNames(ops []popv1.Operation) ([]string, field.ErrorList) {
	var errs field.ErrorList
	names := make([]string, len(ops))
	seen := make(map[string]bool, len(ops))
	for i, op := range ops {
		names[i] = op.Name
		if seen[op.Name] {
			errs = append(errs, field.Duplicate(operationsPath.Index(i).Child("name"), op.Name))
		}
		seen[op.Name] = true
	}
	return names, errs
}

// depAdder records one dependency found at a field path; required is false for an
// optional reference.
type depAdder func(p *field.Path, name, selfMsg string, required bool)

// operationDeps gathers operation i's dependencies from dependsOn, params.dependsOn and
// the references in its payload. A dependency is required unless every way the operation
// names it is an optional reference.
func operationDeps(op *popv1.Operation, i int, index map[string]int) (map[int]bool, *when.Condition, field.ErrorList) {
	path := operationsPath.Index(i)
	deps := map[int]bool{}
	var errs field.ErrorList
	addDep := func(p *field.Path, name, selfMsg string, required bool) {
		d, ok := index[name]
		switch {
		case !ok:
			errs = append(errs, field.Invalid(p, name, fmt.Sprintf("unknown operation %q", name)))
		case d == i:
			errs = append(errs, field.Invalid(p, name, selfMsg))
		default:
			deps[d] = deps[d] || required
		}
	}
	for j, name := range op.DependsOn {
		addDep(path.Child("dependsOn").Index(j), name, "an operation cannot depend on itself", true)
	}
	names, err := paramsDependsOn(op)
	if err != nil {
		errs = append(errs, field.Invalid(path.Child("params", "dependsOn"), "", err.Error()))
	}
	for _, name := range names {
		addDep(path.Child("params", "dependsOn"), name, "an operation cannot depend on itself", true)
	}
	for j, r := range op.After {
		p := path.Child("after").Index(j)
		if err := depends.Validate(depends.Outcome(r.Outcome), p.Child("outcome").String()); err != nil {
			errs = append(errs, field.NotSupported(p.Child("outcome"), string(r.Outcome),
				[]string{"Succeeded", "Failed", "Skipped", "Finished"}))
			continue
		}
		required := r.Outcome == "" || r.Outcome == popv1.OutcomeSucceeded
		addDep(p.Child("operation"), r.Operation, "an operation cannot depend on itself", required)
	}
	errs = append(errs, payloadDeps(op, path.Child("payload"), addDep)...)
	cond, condErrs := conditionDeps(op, path.Child("when"), addDep)
	return deps, cond, append(errs, condErrs...)
}

// finallyDeps makes every finally operation wait for every other to end, whatever the
// outcome, and refuses an operation that is not finally depending on one that is: it
// would wait for the end of everything, itself included.
func finallyDeps(ops []popv1.Operation, depSets []map[int]bool) field.ErrorList {
	var errs field.ErrorList
	for i := range ops {
		if ops[i].Finally {
			for d := range ops {
				if _, named := depSets[i][d]; !named && d != i && !ops[d].Finally {
					depSets[i][d] = false
				}
			}
			continue
		}
		for d := range depSets[i] {
			if ops[d].Finally {
				errs = append(errs, field.Invalid(operationsPath.Index(i), ops[i].Name,
					fmt.Sprintf("depends on finally operation %q: only a finally operation may", ops[d].Name)))
			}
		}
	}
	return errs
}

// conditionDeps compiles the operation's when condition and adds the operations it reads:
// they must end, whatever the outcome, before it is evaluated (an optional dependency).
func conditionDeps(op *popv1.Operation, path *field.Path, addDep depAdder) (*when.Condition, field.ErrorList) {
	if op.When == "" {
		return nil, nil
	}
	cond, err := when.Compile(op.When)
	if err != nil {
		return nil, field.ErrorList{field.Invalid(path, op.When, err.Error())}
	}
	for _, name := range cond.Operations() {
		addDep(path, name, "a condition cannot read its own operation", false)
	}
	return cond, nil
}

// payloadDeps validates every reference in the payload and adds the operations whose
// outputs it reads.
func payloadDeps(op *popv1.Operation, path *field.Path, addDep depAdder) field.ErrorList {
	if op.Payload == nil {
		return nil
	}
	found, err := refs.Find(op.Payload.Raw)
	if err != nil {
		if pe, ok := err.(*refs.PathError); ok {
			return field.ErrorList{field.Invalid(jsonFieldPath(path, pe.Path), pe.Value, pe.Err.Error())}
		}
		return field.ErrorList{field.Invalid(path, "", err.Error())}
	}
	var errs field.ErrorList
	for _, f := range found {
		p := jsonFieldPath(path, f.Path)
		if name, ok := f.Ref.Operation(); ok {
			addDep(p, name, fmt.Sprintf("%s: an operation cannot reference its own output", f.Ref.Text), !f.Ref.Optional)
			continue
		}
		if why, ok := contextSource(op, f.Ref.Source); ok {
			if why != "" {
				errs = append(errs, field.Invalid(p, f.Ref.Text, why))
			}
			continue
		}
		if f.Ref.Source != refs.AgendaParams && !f.Ref.IsToken() {
			errs = append(errs, field.Invalid(p, f.Ref.Text, fmt.Sprintf(
				"unknown source %q: want <operation>.out, agenda.params, or one of pop.agendaId, pop.operationName, pop.namespace, pop.customerId, pop.attempt (item, pop.index in a forEach operation; pop.phase, pop.failed in a finally one)",
				f.Ref.Source)))
		}
	}
	return errs
}

// paramsDependsOn reads POP's params.dependsOn: a comma-separated list of names.
func paramsDependsOn(op *popv1.Operation) ([]string, error) {
	if op.Params == nil {
		return nil, nil
	}
	v, err := refs.Decode(op.Params.Raw)
	if err != nil {
		return nil, fmt.Errorf("params are not JSON: %v", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, nil // the schema requires an object; nothing to read otherwise
	}
	raw, ok := obj["dependsOn"]
	if !ok || raw == nil {
		return nil, nil
	}
	s, ok := raw.(string)
	if !ok {
		return nil, fmt.Errorf("must be a comma-separated string of operation names")
	}
	var names []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names, nil
}

func validateRerun(rerun *popv1.RerunSpec, index map[string]int) field.ErrorList {
	if rerun == nil {
		return nil
	}
	var errs field.ErrorList
	for j, name := range rerun.Operations {
		if _, ok := index[name]; !ok {
			errs = append(errs, field.Invalid(field.NewPath("spec", "rerun", "operations").Index(j), name,
				fmt.Sprintf("unknown operation %q", name)))
		}
	}
	return errs
}

func cycleError(g *Graph, cycle []int) *field.Error {
	names := make([]string, len(cycle))
	for k, i := range cycle {
		names[k] = g.names[i]
	}
	return field.Invalid(operationsPath.Index(cycle[0]), g.names[cycle[0]],
		"dependency cycle: "+strings.Join(names, " -> "))
}

// jsonFieldPath extends a field path with a JSON path inside a payload.
func jsonFieldPath(base *field.Path, elems []any) *field.Path {
	p := base
	for _, e := range elems {
		switch t := e.(type) {
		case int:
			p = p.Index(t)
		case string:
			p = p.Child(t)
		}
	}
	return p
}
