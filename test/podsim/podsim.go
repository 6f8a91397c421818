// Package podsim stands in for a kubelet in envtest, where no Pod ever runs: it moves POP's
// handler Pods through Pending → Running → Succeeded/Failed as a script says, writing exit
// codes, termination messages and annotations. Test-only: product code never imports it.
package podsim

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/podspec"
)

// Behaviour is what one Pod does.
type Behaviour struct {
	// StartAfter is how long the Pod stays Pending before it runs.
	StartAfter time.Duration
	// StayPending keeps the Pod Pending forever with this container waiting reason
	// (e.g. "ImagePullBackOff").
	StayPending string
	// RunFor is how long the container runs.
	RunFor time.Duration
	// ExitCode ends the container; non-zero fails the Pod.
	ExitCode int32
	// Message is the termination message (the handler's output when it succeeds).
	Message string
	// Annotations are written onto the Pod once it runs (progress, POP payload).
	Annotations map[string]string
	// Evict fails the Pod with reason Evicted once it runs, as a node under pressure would.
	Evict bool
}

// Script chooses a Pod's behaviour. It runs once per Pod.
type Script func(pod *corev1.Pod) Behaviour

// Echo succeeds at once with the payload as output: the default script.
func Echo(pod *corev1.Pod) Behaviour {
	return Behaviour{Message: Env(pod, "POP_PAYLOAD")}
}

// EchoAfter is Echo for a handler that runs for d first.
func EchoAfter(d time.Duration) Script {
	return func(pod *corev1.Pod) Behaviour {
		b := Echo(pod)
		b.RunFor = d
		return b
	}
}

// Env returns the value of a handler container's environment variable.
func Env(pod *corev1.Pod, name string) string {
	for _, c := range pod.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == name {
				return e.Value
			}
		}
	}
	return ""
}

// Simulator drives Pods. Start it with Run in a goroutine.
type Simulator struct {
	Client   client.Client
	Interval time.Duration

	mu      sync.Mutex
	script  Script
	tracked map[string]*tracked
	started []string
}

type tracked struct {
	seen      time.Time
	behaviour Behaviour
	runningAt time.Time
}

// New returns a simulator using c, running the Echo script.
func New(c client.Client) *Simulator {
	return &Simulator{Client: c, Interval: 20 * time.Millisecond, script: Echo, tracked: map[string]*tracked{}}
}

// SetScript replaces the script for Pods not seen yet.
func (s *Simulator) SetScript(script Script) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = script
}

// Started lists the namespace/name of every Pod the simulator has seen, in order.
func (s *Simulator) Started() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.started...)
}

// Run drives Pods until ctx ends.
func (s *Simulator) Run(ctx context.Context) {
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.step(ctx)
		}
	}
}

func (s *Simulator) step(ctx context.Context) {
	var pods corev1.PodList
	// Only Pods still to move: a finished Pod never changes again, and listing thousands of
	// them every step would load the API server more than the operator under test does.
	unfinished := fields.AndSelectors(fields.OneTermNotEqualSelector("status.phase", string(corev1.PodSucceeded)),
		fields.OneTermNotEqualSelector("status.phase", string(corev1.PodFailed)))
	if err := s.Client.List(ctx, &pods, client.HasLabels{popv1.AgendaLabel}, client.MatchingFieldsSelector{Selector: unfinished}); err != nil {
		return
	}
	now := time.Now()
	for i := range pods.Items {
		pod := &pods.Items[i]
		if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		s.advance(ctx, pod, s.track(pod, now), now)
	}
}

func (s *Simulator) track(pod *corev1.Pod, now time.Time) *tracked {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := string(pod.UID)
	t, ok := s.tracked[key]
	if !ok {
		t = &tracked{seen: now, behaviour: s.script(pod)}
		s.tracked[key] = t
		s.started = append(s.started, pod.Namespace+"/"+pod.Name)
	}
	return t
}

// advance moves one Pod to the phase its behaviour reaches at now.
func (s *Simulator) advance(ctx context.Context, pod *corev1.Pod, t *tracked, now time.Time) {
	b := t.behaviour
	switch {
	case b.StayPending != "":
		if len(pod.Status.ContainerStatuses) == 0 {
			s.writeStatus(ctx, pod, corev1.PodPending, waiting(b.StayPending), "")
		}
	case pod.Status.Phase != corev1.PodRunning:
		if now.Sub(t.seen) >= b.StartAfter {
			if len(b.Annotations) > 0 {
				s.annotate(ctx, pod, b.Annotations)
			}
			t.runningAt = now
			s.writeStatus(ctx, pod, corev1.PodRunning, corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(now)}}, "")
		}
	case b.Evict:
		s.writeStatus(ctx, pod, corev1.PodFailed, corev1.ContainerState{}, "Evicted")
	case !t.runningAt.IsZero() && now.Sub(t.runningAt) >= b.RunFor:
		phase := corev1.PodSucceeded
		if b.ExitCode != 0 {
			phase = corev1.PodFailed
		}
		s.writeStatus(ctx, pod, phase, corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: b.ExitCode, Message: b.Message, FinishedAt: metav1.NewTime(now), Reason: reason(b.ExitCode),
		}}, "")
	}
}

func reason(code int32) string {
	if code == 0 {
		return "Completed"
	}
	return "Error"
}

func waiting(why string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: why, Message: "simulated: " + why}}
}

func (s *Simulator) writeStatus(ctx context.Context, pod *corev1.Pod, phase corev1.PodPhase, state corev1.ContainerState, podReason string) {
	pod.Status.Phase = phase
	pod.Status.Reason = podReason
	if podReason == "Evicted" {
		pod.Status.Message = "simulated: the node was low on memory"
	}
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: podspec.ContainerName, State: state, Image: pod.Spec.Containers[0].Image}}
	if err := s.Client.Status().Update(ctx, pod); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return
	}
}

func (s *Simulator) annotate(ctx context.Context, pod *corev1.Pod, ann map[string]string) {
	patch := client.MergeFrom(pod.DeepCopy())
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	for k, v := range ann {
		pod.Annotations[k] = v
	}
	_ = s.Client.Patch(ctx, pod, patch)
}
