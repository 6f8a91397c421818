package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
)

// Workers is how many clients create Agendas at once, and the ceiling's worker count.
const Workers = 64

// PhaseLabel marks every Agenda with its phase, for deleting a phase's Agendas at once.
const PhaseLabel = "bench.pop.dev/phase"

// Width is the fan-out of the 10-operation shape: split → Width workers → join.
const Width = 8

// AgendaName is the name of Agenda i of a phase.
func AgendaName(phase string, i int) string { return fmt.Sprintf("%s-%06d", phase, i) }

// SingleOp is a one-operation Agenda queued in the phase's Insight.
func SingleOp(phase string, i int) *popv1.Agenda {
	ag := builders.MakeAgenda(AgendaName(phase, i), CustomerNamespace(i)).
		Label(PhaseLabel, phase).Op("main", HandlerType, map[string]any{"i": i}).Obj()
	ag.Spec.Insight = OperatorNamespace + "/" + phase
	return ag
}

// FanOut is the 10-operation shape: split, then Width operations that read its output,
// then join, which reads all of theirs.
func FanOut(phase string, i int) *popv1.Agenda {
	w := builders.MakeAgenda(AgendaName(phase, i), CustomerNamespace(i)).Label(PhaseLabel, phase).
		Op("split", HandlerType, map[string]any{"n": Width, "i": i})
	parts := make([]string, Width)
	for k := range Width {
		w.Op(workName(k), HandlerType, map[string]any{"part": k, "from": "@<split.out::/n>"})
		parts[k] = "@<" + workName(k) + ".out>"
	}
	w.Op("join", HandlerType, map[string]any{"parts": parts})
	ag := w.Obj()
	ag.Spec.Insight = OperatorNamespace + "/" + phase
	return ag
}

func workName(k int) string { return fmt.Sprintf("w%d", k) }

// Dependencies maps each operation of the FanOut shape to those it waits for.
func Dependencies() map[string][]string {
	deps := map[string][]string{"split": nil}
	var works []string
	for k := range Width {
		deps[workName(k)] = []string{"split"}
		works = append(works, workName(k))
	}
	deps["join"] = works
	return deps
}

// InsightSpec describes a phase's Insight.
type InsightSpec struct {
	Algorithm popv1.SchedulingAlgorithm
	Capacity  int32
	Paused    bool
}

// CreateInsight creates the phase's Insight (named after the phase) in the operator namespace.
func CreateInsight(ctx context.Context, c client.Client, phase string, s InsightSpec) error {
	ins := builders.MakeInsight(phase, OperatorNamespace).Algorithm(s.Algorithm).Capacity(s.Capacity).Paused(s.Paused).Obj()
	return c.Create(ctx, ins)
}

// PatchInsight changes a phase's Insight.
func PatchInsight(ctx context.Context, c client.Client, phase string, change func(*popv1.InsightSpec)) error {
	var ins popv1.Insight
	if err := c.Get(ctx, client.ObjectKey{Namespace: OperatorNamespace, Name: phase}, &ins); err != nil {
		return err
	}
	before := ins.DeepCopy()
	change(&ins.Spec)
	return c.Patch(ctx, &ins, client.MergeFrom(before))
}

// CreateAll creates Agendas first..first+n-1 of a phase with Workers parallel clients and
// records each create in the Observer. It returns when the last create returned.
func CreateAll(ctx context.Context, c client.Client, obs *Observer, first, n int, build func(int) *popv1.Agenda) error {
	return CreateAllThen(ctx, c, obs, first, n, build, nil)
}

// CreateAllThen is CreateAll, calling then (when not nil) on each Agenda once created.
func CreateAllThen(ctx context.Context, c client.Client, obs *Observer, first, n int, build func(int) *popv1.Agenda,
	then func(*popv1.Agenda) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	go func() {
		defer close(next)
		for i := first; i < first+n; i++ {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for range Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ag := build(i)
				err := createRetrying(ctx, c, ag)
				if err == nil && then != nil {
					err = then(ag)
				}
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("creating Agenda %s: %w", ag.Name, err); cancel() })
					return
				}
				obs.Created(ag.Name, time.Now())
			}
		}()
	}
	wg.Wait()
	return firstErr
}

func createRetrying(ctx context.Context, c client.Client, obj client.Object) error {
	var err error
	for try := range 5 {
		if err = c.Create(ctx, obj); err == nil || (try > 0 && apierrors.IsAlreadyExists(err)) {
			return nil
		}
		time.Sleep(time.Duration(try+1) * 100 * time.Millisecond)
		obj.SetResourceVersion("")
	}
	return err
}

// DeletePhase deletes a phase's Agendas in every customer namespace and waits until none is
// left, so that the next phase starts from caches without them. A deletecollection that times
// out goes on in the API server; it is issued again until nothing is left.
func DeletePhase(ctx context.Context, c client.Client, phase string) error {
	deadline := time.Now().Add(15 * time.Minute)
	for time.Now().Before(deadline) {
		var list popv1.AgendaList
		if err := c.List(ctx, &list, client.MatchingLabels{PhaseLabel: phase}, client.Limit(1)); err != nil {
			return err
		}
		if len(list.Items) == 0 {
			return client.IgnoreNotFound(c.Delete(ctx, &popv1.Insight{ObjectMeta: metaName(phase)}))
		}
		deleteAllOf(ctx, c, phase)
		waitFor(ctx, 2*time.Second)
	}
	return fmt.Errorf("phase %s: Agendas still there 15 minutes after their deletion", phase)
}

// deleteAllOf deletes the phase's Agendas namespace by namespace, 8 at a time; errors (a
// timeout at 10,000 Agendas) are left to the caller's next look.
func deleteAllOf(ctx context.Context, c client.Client, phase string) {
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range Customers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_ = c.DeleteAllOf(ctx, &popv1.Agenda{}, client.InNamespace(CustomerNamespace(i)),
				client.MatchingLabels{PhaseLabel: phase}, client.PropagationPolicy("Background"))
		}()
	}
	wg.Wait()
}

func waitFor(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func metaName(phase string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: OperatorNamespace, Name: phase}
}

// DeletePods deletes the phase's handler Pods, Workers at a time.
func DeletePods(ctx context.Context, c client.Client, phase string) error {
	var pods corev1.PodList
	if err := c.List(ctx, &pods, client.HasLabels{popv1.AgendaLabel}); err != nil {
		return err
	}
	work := make(chan *corev1.Pod)
	var wg sync.WaitGroup
	for range Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for pod := range work {
				_ = client.IgnoreNotFound(c.Delete(ctx, pod, client.GracePeriodSeconds(0)))
			}
		}()
	}
	for i := range pods.Items {
		if PhaseOf(pods.Items[i].Name) == phase {
			work <- &pods.Items[i]
		}
	}
	close(work)
	wg.Wait()
	return nil
}
