package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/podspec"
)

// Ceiling is the API server's write ceiling for one Agenda shape: the fewest writes that
// run it, made by Workers clients with no operator in between.
type Ceiling struct {
	Shape        string  `json:"shape"`
	Workflows    int     `json:"workflows"`
	WritesEach   int     `json:"writesPerWorkflow"`
	Seconds      float64 `json:"seconds"`
	PerSecond    float64 `json:"workflowsPerSecond"`
	WritesPerSec float64 `json:"writesPerSecond"`
}

// MeasureCeiling runs n workflows of the shape built by build: create the Agenda, patch its
// status (admitted), then for each operation in dependency order create its Pod, write the
// Pod's status (Succeeded) and patch the Agenda's status (the operation's outcome; the last
// patch also ends the Agenda). A single-op Agenda costs 5 writes, the 10-op shape 32.
func MeasureCeiling(ctx context.Context, c client.Client, shape string, n int, build func(int) *popv1.Agenda) (Ceiling, error) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	start := time.Now()
	go func() {
		defer close(jobs)
		for i := range n {
			jobs <- i
		}
	}()
	for range Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := ceilingWorkflow(ctx, c, build(i)); err != nil {
					once.Do(func() { firstErr = err })
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return Ceiling{}, firstErr
	}
	secs := time.Since(start).Seconds()
	ops := len(build(0).Spec.Operations)
	writes := 2 + 3*ops
	return Ceiling{Shape: shape, Workflows: n, WritesEach: writes, Seconds: secs,
		PerSecond: float64(n) / secs, WritesPerSec: float64(n*writes) / secs}, nil
}

func ceilingWorkflow(ctx context.Context, c client.Client, ag *popv1.Agenda) error {
	if err := c.Create(ctx, ag); err != nil {
		return fmt.Errorf("ceiling: creating %s: %w", ag.Name, err)
	}
	now := metav1.Now()
	if err := patchStatus(ctx, c, ag, func(st *popv1.AgendaStatus) {
		st.Phase = popv1.PhaseRunning
		st.AdmissionTime, st.StartTime = &now, &now
		for _, typ := range []string{popv1.AgendaAccepted, popv1.AgendaAdmitted, popv1.AgendaRunning} {
			meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: typ, Status: metav1.ConditionTrue,
				Reason: "Bench", ObservedGeneration: ag.Generation})
		}
		for _, op := range ag.Spec.Operations {
			st.Operations = append(st.Operations, popv1.OperationStatus{Name: op.Name, State: popv1.OperationWaiting})
		}
	}); err != nil {
		return err
	}
	for k := range ag.Spec.Operations {
		op := &ag.Spec.Operations[k]
		pod := podspec.Build(podspec.Input{Agenda: ag, Operation: op, Handler: HandlerSpec(), Attempt: 1,
			Payload: op.Payload.Raw, Customer: ag.Namespace})
		if err := c.Create(ctx, pod); err != nil {
			return fmt.Errorf("ceiling: creating Pod %s: %w", pod.Name, err)
		}
		if err := FinishPod(ctx, c, pod); err != nil {
			return fmt.Errorf("ceiling: finishing Pod %s: %w", pod.Name, err)
		}
		last := k == len(ag.Spec.Operations)-1
		if err := patchStatus(ctx, c, ag, func(st *popv1.AgendaStatus) {
			done := metav1.Now()
			st.Operations[k] = popv1.OperationStatus{Name: op.Name, State: popv1.OperationSucceeded, Attempts: 1,
				Pod: pod.Name, StartTime: &now, CompletionTime: &done, Progress: 100, Output: outputOf(pod)}
			st.PercentComplete = int32(100 * (k + 1) / len(ag.Spec.Operations))
			if last {
				st.Phase, st.CompletionTime = popv1.PhaseSucceeded, &done
				meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: popv1.AgendaSucceeded,
					Status: metav1.ConditionTrue, Reason: "Bench", ObservedGeneration: ag.Generation})
			}
		}); err != nil {
			return err
		}
	}
	return nil
}

func outputOf(pod *corev1.Pod) string {
	raw, _ := json.Marshal(json.RawMessage(pod.Status.ContainerStatuses[0].State.Terminated.Message))
	return string(raw)
}

func patchStatus(ctx context.Context, c client.Client, ag *popv1.Agenda, change func(*popv1.AgendaStatus)) error {
	before := ag.DeepCopy()
	change(&ag.Status)
	if err := c.Status().Patch(ctx, ag, client.MergeFrom(before)); err != nil {
		return fmt.Errorf("ceiling: patching status of %s: %w", ag.Name, err)
	}
	return nil
}

// DeleteCeiling removes the ceiling's Agendas and Pods (no garbage collector runs in envtest).
func DeleteCeiling(ctx context.Context, c client.Client, phases ...string) error {
	for i := range Customers {
		ns := client.InNamespace(CustomerNamespace(i))
		if err := c.DeleteAllOf(ctx, &corev1.Pod{}, ns, client.HasLabels{popv1.AgendaLabel}, client.GracePeriodSeconds(0)); err != nil {
			return err
		}
		for _, p := range phases {
			if err := c.DeleteAllOf(ctx, &popv1.Agenda{}, ns, client.MatchingLabels{PhaseLabel: p}); err != nil {
				return err
			}
		}
	}
	return nil
}
