// Package when compiles and evaluates an operation's `when` condition: a CEL expression (the
// language Kubernetes itself uses for validation rules) over the outcomes of the operations
// it names, the Agenda's params and, in a fan-out, the current item. It is pure: no client,
// no cluster; docs/workflow-language.md describes the design.
package when

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
)

// Bounds on what a tenant's expression may cost: it is parsed by the webhook and evaluated by
// the manager for every tenant, so none may be long, deep or slow.
const (
	// MaxLength is the longest expression accepted, in bytes (spec.operations[].when has
	// the same maxLength).
	MaxLength = 1024
	// MaxNesting bounds the parser's recursion (nested calls, brackets, operators).
	MaxNesting = 32
	// CostLimit bounds one evaluation, in CEL's cost units (about one per operation and
	// per element a macro visits); an expression over it fails instead of running on.
	CostLimit = 100_000
)

// Variable names an expression may use.
const (
	VarOps    = "ops"    // ops.<name>.phase, ops.<name>.output
	VarParams = "params" // the Agenda's spec.params
	VarItem   = "item"   // the fan-out item (null outside a fan-out)
	VarIndex  = "index"  // the fan-out index (0 outside a fan-out)
)

// Outcome is what an expression sees of one named operation.
type Outcome struct {
	// Phase is the operation's final state: Succeeded, Failed, Skipped or Cancelled.
	Phase string
	// Output is the operation's output, decoded from JSON (nil when it has none).
	Output any
}

// Input is everything one evaluation may read.
type Input struct {
	Ops    map[string]Outcome
	Params any
	Item   any
	Index  int
}

// Condition is a compiled expression.
type Condition struct {
	program cel.Program
	ops     []string
}

var env = mustEnv()

func mustEnv() *cel.Env {
	e, err := cel.NewEnv(
		cel.Variable(VarOps, cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable(VarParams, cel.DynType),
		cel.Variable(VarItem, cel.DynType),
		cel.Variable(VarIndex, cel.IntType),
		cel.CrossTypeNumericComparisons(true), // JSON numbers are doubles: output.count > 3
		cel.ParserRecursionLimit(MaxNesting),
		cel.ParserExpressionSizeLimit(MaxLength),
	)
	if err != nil {
		panic(err)
	}
	return e
}

// Compile parses and type-checks expr. It refuses an expression that is not boolean, or
// that reads ops other than by a constant name: the operations a condition reads are
// dependencies, and they must be known before anything runs.
func Compile(expr string) (*Condition, error) {
	if len(expr) > MaxLength {
		return nil, fmt.Errorf("longer than %d bytes", MaxLength)
	}
	checked, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	if t := checked.OutputType(); !t.IsExactType(types.BoolType) && !t.IsExactType(types.DynType) {
		return nil, fmt.Errorf("must be a boolean expression, not %s", t)
	}
	ops, err := namedOps(checked.NativeRep())
	if err != nil {
		return nil, err
	}
	program, err := env.Program(checked, cel.CostLimit(CostLimit), cel.InterruptCheckFrequency(100))
	if err != nil {
		return nil, err
	}
	return &Condition{program: program, ops: ops}, nil
}

// Operations lists the operations the expression reads, sorted, each once.
func (c *Condition) Operations() []string { return append([]string(nil), c.ops...) }

// Eval evaluates the condition. An error (a missing key, a type mismatch, the cost limit)
// is the expression's fault, never a silent false.
func (c *Condition) Eval(in Input) (bool, error) {
	ops := make(map[string]any, len(in.Ops))
	for name, o := range in.Ops {
		ops[name] = map[string]any{"phase": o.Phase, "output": numbers(o.Output)}
	}
	out, _, err := c.program.Eval(map[string]any{
		VarOps: ops, VarParams: numbers(in.Params), VarItem: numbers(in.Item), VarIndex: int64(in.Index),
	})
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("evaluated to %s, not a boolean", out.Type().TypeName())
	}
	return b, nil
}

// numbers turns the json.Number values refs.Decode keeps (exact, as text) into CEL's
// numbers: int when integral, double otherwise. Other values are shared, not copied.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = numbers(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = numbers(e)
		}
		return out
	}
	return v
}

// errDynamicOps is the refusal of ops used other than as ops.<name> or ops["name"].
var errDynamicOps = errors.New(`ops must be read as ops.<name> or ops["<name>"], with a constant name`)

// namedOps finds the operation names the expression reads through ops.
func namedOps(a *ast.AST) ([]string, error) {
	seen := map[string]bool{}
	var bad error
	allowed := map[int64]bool{} // ids of the ops identifiers used by a constant name
	ast.PreOrderVisit(a.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if name, id, ok := constantAccess(e); ok {
			seen[name] = true
			allowed[id] = true
		}
	}))
	ast.PreOrderVisit(a.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if e.Kind() == ast.IdentKind && e.AsIdent() == VarOps && !allowed[e.ID()] {
			bad = errDynamicOps
		}
	}))
	if bad != nil {
		return nil, bad
	}
	out := make([]string, 0, len(seen))
	for name := range seen {
		out = append(out, name)
	}
	sort.Strings(out)
	return out, nil
}

// constantAccess recognises ops.<name> and ops["name"], returning the name and the id of
// the ops identifier.
func constantAccess(e ast.Expr) (string, int64, bool) {
	switch e.Kind() {
	case ast.SelectKind:
		s := e.AsSelect()
		if op := s.Operand(); op.Kind() == ast.IdentKind && op.AsIdent() == VarOps {
			return s.FieldName(), op.ID(), true
		}
	case ast.CallKind:
		c := e.AsCall()
		if c.FunctionName() != "_[_]" || len(c.Args()) != 2 {
			return "", 0, false
		}
		target, key := c.Args()[0], c.Args()[1]
		if target.Kind() != ast.IdentKind || target.AsIdent() != VarOps || key.Kind() != ast.LiteralKind {
			return "", 0, false
		}
		if name, ok := key.AsLiteral().Value().(string); ok {
			return name, target.ID(), true
		}
	}
	return "", 0, false
}
