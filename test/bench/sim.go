package bench

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/podspec"
	"github.com/pop-operator/pop/test/podsim"
)

// Mode is what the simulated kubelet does with a phase's Pods.
type Mode struct {
	// Hold keeps Pods until Release: Pending, or Running when Running is set (as a kubelet
	// reports a started container; a Pod Pending for minutes fails its pendingTimeout).
	Hold, Running bool
	// RunMin and RunMax bound a random run time; zero finishes the Pod at once.
	RunMin, RunMax time.Duration
}

// Sim is an instant kubelet stand-in, fed by the Observer's Pod watch: a new handler Pod
// gets one status write, straight to Succeeded with its payload as termination message
// (podsim.Echo's output), which is the "Pod status update" of the ceiling's sequence.
// test/podsim polls with a List every 20 ms, which at thousands of Pods loads the API
// server more than the operator under test; this one reacts to events instead.
type Sim struct {
	Client client.Client
	Obs    *Observer

	mu    sync.Mutex
	modes map[string]Mode
	held  map[string][]*corev1.Pod
	timed map[string]map[string]*timedPod
	done  map[string]bool
	work  chan *corev1.Pod
}

// NewSim returns a simulator writing through c with workers parallel writers.
func NewSim(ctx context.Context, c client.Client, workers int) *Sim {
	s := &Sim{Client: c, modes: map[string]Mode{}, held: map[string][]*corev1.Pod{}, done: map[string]bool{},
		timed: map[string]map[string]*timedPod{},
		work:  make(chan *corev1.Pod, 1<<16)}
	for range workers {
		go s.worker(ctx)
	}
	return s
}

// SetMode sets what a phase's Pods do; phases without one finish at once.
func (s *Sim) SetMode(phase string, m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.modes[phase] = m
}

// OnPod takes a Pod event (Observer's onPod).
func (s *Sim) OnPod(pod *corev1.Pod) {
	if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return
	}
	s.mu.Lock()
	if s.done[pod.Name] {
		s.mu.Unlock()
		return
	}
	s.done[pod.Name] = true
	phase := PhaseOf(pod.Name)
	m := s.modes[phase]
	if m.Hold {
		s.held[phase] = append(s.held[phase], pod.DeepCopy())
		s.mu.Unlock()
		if m.Running {
			go func() { _ = StartPod(context.Background(), s.Client, pod.DeepCopy()) }()
		}
		return
	}
	s.mu.Unlock()
	if m.RunMax == 0 {
		s.work <- pod.DeepCopy()
		return
	}
	d := m.RunMin + time.Duration(rand.Int64N(int64(m.RunMax-m.RunMin)+1))
	tp := &timedPod{pod: pod.DeepCopy()}
	s.mu.Lock()
	if s.timed[phase] == nil {
		s.timed[phase] = map[string]*timedPod{}
	}
	s.timed[phase][pod.Name] = tp
	tp.timer = time.AfterFunc(d, func() { s.fire(phase, pod.Name) })
	s.mu.Unlock()
}

type timedPod struct {
	pod   *corev1.Pod
	timer *time.Timer
}

func (s *Sim) fire(phase, name string) {
	s.mu.Lock()
	tp := s.timed[phase][name]
	delete(s.timed[phase], name)
	s.mu.Unlock()
	if tp != nil {
		s.work <- tp.pod
	}
}

// Hurry finishes a phase's running Pods now and its later ones at once.
func (s *Sim) Hurry(phase string) {
	s.mu.Lock()
	s.modes[phase] = Mode{}
	var now []*corev1.Pod
	for name, tp := range s.timed[phase] {
		if tp.timer.Stop() {
			now = append(now, tp.pod)
		}
		delete(s.timed[phase], name)
	}
	s.mu.Unlock()
	for _, p := range now {
		s.work <- p
	}
}

// Held is how many of a phase's Pods wait for Release.
func (s *Sim) Held(phase string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.held[phase])
}

// Release finishes up to n held Pods of a phase, oldest first (all when n < 0), stops
// holding that phase's new Pods when all is true, and returns the Agendas of the Pods released.
func (s *Sim) Release(phase string, n int, all bool) []string {
	s.mu.Lock()
	h := s.held[phase]
	if n < 0 || n > len(h) {
		n = len(h)
	}
	out := h[:n]
	s.held[phase] = append([]*corev1.Pod(nil), h[n:]...)
	if all {
		s.modes[phase] = Mode{}
	}
	s.mu.Unlock()
	names := make([]string, 0, len(out))
	for _, p := range out {
		names = append(names, p.Labels[popv1.AgendaLabel])
		s.work <- p
	}
	return names
}

// Forget drops what the simulator knows of a phase's Pods.
func (s *Sim) Forget(phase string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name := range s.done {
		if PhaseOf(name) == phase {
			delete(s.done, name)
		}
	}
	delete(s.held, phase)
}

func (s *Sim) worker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case pod := <-s.work:
			s.finish(ctx, pod)
		}
	}
}

// finish writes Succeeded with the echo output.
func (s *Sim) finish(ctx context.Context, pod *corev1.Pod) {
	if err := FinishPod(ctx, s.Client, pod); err == nil && s.Obs != nil {
		s.Obs.PodDone(pod.Name, time.Now())
	}
}

// StartPod writes the Pod Running, its container started.
func StartPod(ctx context.Context, c client.Client, pod *corev1.Pod) error {
	now := metav1.Now()
	pod.Status.Phase = corev1.PodRunning
	pod.Status.StartTime = &now
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name: podspec.ContainerName, Image: pod.Spec.Containers[0].Image, Started: ptr.To(true), Ready: true,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
	}}
	return c.Status().Update(ctx, pod)
}

// FinishPod is the kubelet's one status write for an instant Pod: Succeeded, its payload as
// termination message. A conflict re-reads the Pod and tries again; a Pod gone is no error.
func FinishPod(ctx context.Context, c client.Client, pod *corev1.Pod) error {
	var err error
	for try := 0; try < 5; try++ {
		now := metav1.Now()
		pod.Status.Phase = corev1.PodSucceeded
		pod.Status.StartTime = &now
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
			Name: podspec.ContainerName, Image: pod.Spec.Containers[0].Image,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 0, Reason: "Completed", Message: podsim.Env(pod, "POP_PAYLOAD"), StartedAt: now, FinishedAt: now,
			}},
		}}
		if err = c.Status().Update(ctx, pod); err == nil || apierrors.IsNotFound(err) || ctx.Err() != nil {
			return err
		}
		var fresh corev1.Pod
		if err := c.Get(ctx, client.ObjectKeyFromObject(pod), &fresh); err != nil {
			return err
		}
		pod = &fresh
	}
	return err
}
