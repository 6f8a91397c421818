package controllers

import (
	"context"
	"fmt"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/dag"
	"github.com/pop-operator/pop/internal/execution"
	"github.com/pop-operator/pop/internal/podspec"
)

// observe reads what the planner decides from: the validated graph; the HandlerTypes,
// unless the spec is invalid or a finished Agenda has no rerun to make; an admitted Agenda's
// Pods (a finished one's too, to clean them up); a running one's customer, for its launches.
func (r *AgendaReconciler) observe(ctx context.Context, ag *popv1.Agenda) (execution.Observed, error) {
	obs := execution.Observed{Agenda: ag, Now: r.now(), LaunchWait: r.LaunchWait}
	obs.Graph, obs.SpecErrors = r.graphs.build(ag)
	var err error
	settled := popv1.IsFinished(ag) && !popv1.RerunPending(ag)
	if len(obs.SpecErrors) == 0 && !settled {
		if obs.Handlers, obs.Unavailable, err = r.findHandlers(ctx, ag); err != nil {
			return obs, err
		}
	}
	if popv1.IsAdmitted(ag) {
		if obs.Pods, err = r.ownedPods(ctx, ag); err != nil {
			return obs, err
		}
	}
	if popv1.IsRunning(ag) {
		if obs.Customer, err = r.customerOf(ctx, ag.Namespace); err != nil {
			return obs, err
		}
		obs.DefaultParallelism, err = r.defaultParallelism(ctx, ag)
	}
	return obs, err
}

// defaultParallelism is the admitting Insight's spec.defaultParallelism, which bounds an
// Agenda without spec.parallelism; only read when the Agenda sets none.
func (r *AgendaReconciler) defaultParallelism(ctx context.Context, ag *popv1.Agenda) (*int32, error) {
	if ag.Spec.Parallelism != nil {
		return nil, nil
	}
	ins, err := r.insightOf(ctx, ag)
	if ins == nil {
		return nil, err
	}
	return ins.Spec.DefaultParallelism, nil
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

// getHandlerType finds the HandlerType the Agenda's operations name (nearest: its namespace,
// then the operator's cluster-wide default; the cache, then the API server).
func (r *AgendaReconciler) getHandlerType(ctx context.Context, namespace, name string) (*popv1.HandlerType, error) {
	return nearest[popv1.HandlerType](ctx, r, namespace, name)
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

// graphCache keeps the validated graph of each Agenda generation: the spec rarely changes,
// and building the graph parses every reference of every operation (BenchmarkBuild1000 in
// internal/dag measures it; docs/benchmarks.md, The graph cache).
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

// ownedPods returns the Agenda's Pods by name. A Pod the status names but the cache lacks
// is read from the API server: it may simply be too new for the cache, and only a Pod
// that is really gone may count as a failed attempt.
func (r *AgendaReconciler) ownedPods(ctx context.Context, ag *popv1.Agenda) (map[string]*corev1.Pod, error) {
	var list corev1.PodList
	err := r.Client.List(ctx, &list, client.InNamespace(ag.Namespace),
		client.MatchingLabels{popv1.AgendaLabel: podspec.LabelValue(ag.Name)})
	if err != nil {
		return nil, err
	}
	pods := map[string]*corev1.Pod{}
	for i := range list.Items {
		if ownedBy(&list.Items[i], ag) {
			pods[list.Items[i].Name] = &list.Items[i]
		}
	}
	for _, op := range ag.Status.Operations {
		if op.State != popv1.OperationExecuting || op.Pod == "" || pods[op.Pod] != nil {
			continue
		}
		var pod corev1.Pod
		err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: ag.Namespace, Name: op.Pod}, &pod)
		if err == nil && ownedBy(&pod, ag) {
			pods[pod.Name] = &pod
		} else if err != nil && !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	return pods, nil
}

func ownedBy(pod *corev1.Pod, ag *popv1.Agenda) bool {
	for _, ref := range pod.OwnerReferences {
		if ref.UID == ag.UID {
			return true
		}
	}
	return false
}

// customerOf reads the customer id from the namespace's label: customers cannot edit
// namespaces, so it cannot be forged from an Agenda.
func (r *AgendaReconciler) customerOf(ctx context.Context, namespace string) (string, error) {
	var ns corev1.Namespace
	if err := r.Client.Get(ctx, types.NamespacedName{Name: namespace}, &ns); err != nil {
		return "", fmt.Errorf("reading namespace %s: %w", namespace, err)
	}
	return popv1.CustomerOf(namespace, ns.Labels), nil
}
