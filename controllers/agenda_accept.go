package controllers

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/dag"
	"github.com/pop-operator/pop/internal/execution"
)

// acceptance is what an accepted Agenda runs with.
type acceptance struct {
	graph *dag.Graph
	// handlers are the specs of the HandlerTypes found, Ready or not: a Pod already running
	// is judged by its HandlerType's spec even when no new one may start.
	handlers map[string]*popv1.HandlerTypeSpec
	// unavailable maps each type whose HandlerType is missing or not Ready to why.
	unavailable map[string]string
}

// accept validates the Agenda and finds its HandlerTypes, recording the verdict in the
// Accepted condition. It returns nil when the Agenda cannot run (yet). An Agenda already
// running goes on with HandlerTypes missing: its Pods are still watched, cancel and
// timeouts honoured, and only new attempts of the missing types wait (the planner bounds
// the wait); run records the verdict with the plan.
func (r *AgendaReconciler) accept(ctx context.Context, ag *popv1.Agenda) (*acceptance, error) {
	g, errs := r.graphs.build(ag)
	if len(errs) > 0 {
		st := *ag.Status.DeepCopy()
		st.Phase = popv1.PhaseInvalid
		execution.SetCondition(&st, ag.Generation, popv1.AgendaAccepted, false, popv1.ReasonInvalidSpec, errs.ToAggregate().Error())
		return nil, r.writeStatus(ctx, ag, st)
	}
	handlers, unavailable, err := r.findHandlers(ctx, ag)
	if err != nil {
		return nil, err
	}
	acc := &acceptance{graph: g, handlers: handlers, unavailable: unavailable}
	if running(ag) {
		return acc, nil
	}
	if len(unavailable) > 0 {
		st := *ag.Status.DeepCopy()
		if st.Phase == "" || st.Phase == popv1.PhaseInvalid {
			st.Phase = popv1.PhasePending
		}
		acc.setAccepted(&st, ag.Generation)
		return nil, r.writeStatus(ctx, ag, st)
	}
	if c := meta.FindStatusCondition(ag.Status.Conditions, popv1.AgendaAccepted); c == nil ||
		c.Status != metav1.ConditionTrue || c.ObservedGeneration != ag.Generation {
		st := *ag.Status.DeepCopy()
		if st.Phase == "" || st.Phase == popv1.PhaseInvalid {
			st.Phase = popv1.PhasePending
		}
		acc.setAccepted(&st, ag.Generation)
		if err := r.writeStatus(ctx, ag, st); err != nil {
			return nil, err
		}
	}
	return acc, nil
}

// running reports an Agenda admitted and not finished: it holds capacity, so it must be
// able to end whatever happens to its HandlerTypes.
func running(ag *popv1.Agenda) bool {
	return meta.IsStatusConditionTrue(ag.Status.Conditions, popv1.AgendaAdmitted) && !execution.IsFinished(ag)
}

// setAccepted records the verdict on the HandlerTypes in the Accepted condition.
func (a *acceptance) setAccepted(st *popv1.AgendaStatus, generation int64) {
	if len(a.unavailable) == 0 {
		execution.SetCondition(st, generation, popv1.AgendaAccepted, true, popv1.ReasonValid, "spec is valid and every HandlerType exists")
		return
	}
	problems := make([]string, 0, len(a.unavailable))
	for _, typ := range sortedKeys(a.unavailable) {
		problems = append(problems, a.unavailable[typ])
	}
	execution.SetCondition(st, generation, popv1.AgendaAccepted, false, popv1.ReasonHandlerTypeMissing, strings.Join(problems, "; "))
}

// findHandlers looks each operation type up in the Agenda's namespace, then in the
// operator's. unavailable maps the types that are missing or not Ready to why.
func (r *AgendaReconciler) findHandlers(ctx context.Context, ag *popv1.Agenda) (map[string]*popv1.HandlerTypeSpec, map[string]string, error) {
	handlers := map[string]*popv1.HandlerTypeSpec{}
	unavailable := map[string]string{}
	for _, typ := range operationTypes(ag) {
		ht, err := r.getHandlerType(ctx, ag.Namespace, typ)
		if err != nil {
			return nil, nil, err
		}
		if ht == nil {
			unavailable[typ] = fmt.Sprintf("HandlerType %q not found in namespace %q or %q", typ, ag.Namespace, r.OperatorNamespace)
			continue
		}
		handlers[typ] = &ht.Spec
		if meta.IsStatusConditionFalse(ht.Status.Conditions, popv1.HandlerTypeReady) {
			c := meta.FindStatusCondition(ht.Status.Conditions, popv1.HandlerTypeReady)
			unavailable[typ] = fmt.Sprintf("HandlerType %s/%s is not Ready: %s", ht.Namespace, ht.Name, c.Message)
		}
	}
	return handlers, unavailable, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// getHandlerType reads from the cache first; a HandlerType the cache lacks is looked for
// again on the API server, so that one created a moment before its Agenda is not reported
// missing (which would also cost the Agenda its place in the queue).
func (r *AgendaReconciler) getHandlerType(ctx context.Context, namespace, name string) (*popv1.HandlerType, error) {
	readers := []client.Reader{r.Client}
	if r.APIReader != nil {
		readers = append(readers, r.APIReader)
	}
	for _, reader := range readers {
		for _, ns := range []string{namespace, r.OperatorNamespace} {
			if ns == "" {
				continue
			}
			var ht popv1.HandlerType
			err := reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &ht)
			if err == nil {
				return &ht, nil
			}
			if !apierrors.IsNotFound(err) {
				return nil, err
			}
		}
	}
	return nil, nil
}

// operationTypes lists the Agenda's distinct operation types, sorted.
func operationTypes(ag *popv1.Agenda) []string {
	seen := map[string]bool{}
	var out []string
	for _, op := range ag.Spec.Operations {
		if !seen[op.Type] {
			seen[op.Type] = true
			out = append(out, op.Type)
		}
	}
	sort.Strings(out)
	return out
}

// graphCache keeps the validated graph of each Agenda generation: building it costs
// ~10 ms for 1,000 operations and the spec rarely changes.
type graphCache struct {
	mu      sync.Mutex
	entries map[types.NamespacedName]graphEntry
}

type graphEntry struct {
	uid        types.UID
	generation int64
	graph      *dag.Graph
}

func (c *graphCache) build(ag *popv1.Agenda) (*dag.Graph, field.ErrorList) {
	key := types.NamespacedName{Namespace: ag.Namespace, Name: ag.Name}
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && e.uid == ag.UID && e.generation == ag.Generation && ag.Generation != 0 {
		return e.graph, nil
	}
	g, errs := dag.Build(&ag.Spec)
	if len(errs) > 0 {
		return nil, errs
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[types.NamespacedName]graphEntry{}
	}
	c.entries[key] = graphEntry{uid: ag.UID, generation: ag.Generation, graph: g}
	c.mu.Unlock()
	return g, nil
}

// forget drops a deleted Agenda's graph.
func (c *graphCache) forget(key types.NamespacedName) {
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
}
