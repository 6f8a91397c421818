package chaos

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/podspec"
	"github.com/pop-operator/pop/test/podsim"
)

// Behaviour is what a chaos operation's Pod does, read from the "chaos" key of its payload.
type Behaviour struct {
	// RunMs is how long the container runs before it ends.
	RunMs int `json:"runMs,omitempty"`
	// FailAttempts fails attempts 1..FailAttempts (exit code 1); later attempts succeed.
	FailAttempts int `json:"failAttempts,omitempty"`
	// Hold keeps the Pod Running until it is deleted (only a cancel ends its Agenda).
	Hold bool `json:"hold,omitempty"`
}

// BehaviourOf reads a Pod's behaviour from its POP_PAYLOAD.
func BehaviourOf(pod *corev1.Pod) Behaviour {
	var p struct {
		Chaos Behaviour `json:"chaos"`
	}
	_ = json.Unmarshal([]byte(podsim.Env(pod, "POP_PAYLOAD")), &p)
	return p.Chaos
}

// Sim is the kubelet stand-in: it watches handler Pods (an informer, which relists across API
// server restarts) and, once per Pod UID, writes Running and then, after the behaviour's run
// time, Succeeded with the payload as termination message or Failed with exit code 1. Status
// writes are retried through API server outages until the Pod is gone.
type Sim struct {
	c    client.Client
	mu   sync.Mutex
	seen map[string]bool
}

// StartSim runs the simulator until ctx ends; it returns once its informer synced.
func StartSim(ctx context.Context, e *Env) (*Sim, error) {
	req, err := labels.NewRequirement(popv1.AgendaLabel, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	ca, err := cache.New(e.Config, cache.Options{Scheme: e.Client.Scheme(),
		ByObject: map[client.Object]cache.ByObject{&corev1.Pod{}: {Label: labels.NewSelector().Add(*req)}}})
	if err != nil {
		return nil, err
	}
	s := &Sim{c: e.Client, seen: map[string]bool{}}
	inf, err := ca.GetInformer(ctx, &corev1.Pod{})
	if err != nil {
		return nil, err
	}
	onPod := func(obj any) {
		if pod, ok := obj.(*corev1.Pod); ok {
			s.onPod(ctx, pod)
		}
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{AddFunc: onPod,
		UpdateFunc: func(_, n any) { onPod(n) }}); err != nil {
		return nil, err
	}
	go func() { _ = ca.Start(ctx) }()
	if !ca.WaitForCacheSync(ctx) {
		return nil, context.Cause(ctx)
	}
	return s, nil
}

func (s *Sim) onPod(ctx context.Context, pod *corev1.Pod) {
	if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return
	}
	s.mu.Lock()
	if s.seen[string(pod.UID)] {
		s.mu.Unlock()
		return
	}
	s.seen[string(pod.UID)] = true
	s.mu.Unlock()
	go s.run(ctx, pod.DeepCopy())
}

func (s *Sim) run(ctx context.Context, pod *corev1.Pod) {
	b := BehaviourOf(pod)
	started := metav1.Now()
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}
	if !s.write(ctx, pod, corev1.PodRunning, running) || b.Hold {
		return
	}
	select {
	case <-ctx.Done():
		return
	case <-time.After(time.Duration(b.RunMs) * time.Millisecond):
	}
	attempt, _ := strconv.Atoi(pod.Labels[popv1.AttemptLabel])
	end := &corev1.ContainerStateTerminated{Reason: "Completed", Message: podsim.Env(pod, "POP_PAYLOAD"),
		StartedAt: started, FinishedAt: metav1.Now()}
	phase := corev1.PodSucceeded
	if attempt <= b.FailAttempts {
		phase, end.ExitCode, end.Reason, end.Message = corev1.PodFailed, 1, "Error", "simulated failure of attempt "+strconv.Itoa(attempt)
	}
	s.write(ctx, pod, phase, corev1.ContainerState{Terminated: end})
}

// write sets the Pod's phase and container state, re-reading it on conflicts and retrying
// through outages; false when the Pod is gone or ctx ended.
func (s *Sim) write(ctx context.Context, pod *corev1.Pod, phase corev1.PodPhase, state corev1.ContainerState) bool {
	for ctx.Err() == nil {
		pod.Status.Phase = phase
		if pod.Status.StartTime == nil {
			pod.Status.StartTime = ptr.To(metav1.Now())
		}
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: podspec.ContainerName, Image: pod.Spec.Containers[0].Image,
			Started: ptr.To(phase == corev1.PodRunning), Ready: phase == corev1.PodRunning, State: state}}
		err := s.c.Status().Update(ctx, pod)
		switch {
		case err == nil:
			return true
		case apierrors.IsNotFound(err):
			return false
		case apierrors.IsConflict(err):
			var fresh corev1.Pod
			if gerr := s.c.Get(ctx, client.ObjectKeyFromObject(pod), &fresh); apierrors.IsNotFound(gerr) {
				return false
			} else if gerr == nil {
				if fresh.DeletionTimestamp != nil {
					return false
				}
				pod = &fresh
			}
		default:
			sleep(ctx, 200*time.Millisecond)
		}
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
