package execution

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/podspec"
	"github.com/pop-operator/pop/pkg/handler"
)

// DefaultMaxOutputBytes bounds an operation's stored output when the HandlerType does not.
const DefaultMaxOutputBytes = 1024

// DefaultPendingTimeout fails an attempt stuck Pending when the HandlerType does not say.
const DefaultPendingTimeout = 5 * time.Minute

// maxOutputBytes is the largest outputs.maxBytes a HandlerType may set.
const maxOutputBytes = 4096

// timeoutGrace is how long past its deadline the controller lets the kubelet end a Pod
// before it deletes the Pod itself.
const timeoutGrace = 5 * time.Second

// outcome is what one attempt's Pod says about the attempt.
type outcome struct {
	done     bool   // the attempt ended
	ok       bool   // ... successfully
	output   []byte // the handler's output (JSON), when ok
	message  string // why it failed, or what it waits for
	progress int32
	// deletePod asks the controller to delete the Pod (timeout, stuck Pending).
	deletePod bool
	// timedOut says the manager gave up on the attempt (timeout, pending timeout).
	timedOut bool
	// recheckAt is when the Pod must be looked at again even without an event.
	recheckAt time.Time
}

// judgePod decides what a Pod says about its attempt at time now.
func judgePod(pod *corev1.Pod, op *popv1.Operation, h *popv1.HandlerTypeSpec, now time.Time) outcome {
	switch {
	case pod.Status.Phase == corev1.PodSucceeded:
		return succeeded(pod, h)
	case pod.Status.Phase == corev1.PodFailed:
		return outcome{done: true, message: failureMessage(pod)}
	case pod.DeletionTimestamp != nil:
		return outcome{done: true, message: "Pod " + pod.Name + " was deleted before it finished"}
	case pod.Status.Phase == corev1.PodRunning:
		return running(pod, op, h, now)
	default:
		return pending(pod, op, h, now)
	}
}

func succeeded(pod *corev1.Pod, h *popv1.HandlerTypeSpec) outcome {
	if why, failed := reportedFailure(pod); failed {
		return outcome{done: true, message: why}
	}
	raw := rawOutput(pod, h)
	limit := DefaultMaxOutputBytes
	if h.Outputs != nil && h.Outputs.MaxBytes > 0 {
		limit = int(h.Outputs.MaxBytes)
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return outcome{done: true, ok: true, output: []byte("null"), progress: 100}
	}
	if len(raw) > limit {
		return outcome{done: true, message: fmt.Sprintf("output of %d bytes exceeds the HandlerType's outputs.maxBytes of %d", len(raw), limit)}
	}
	if !json.Valid([]byte(raw)) {
		return outcome{done: true, message: fmt.Sprintf("output is not JSON: %.80q", raw)}
	}
	return outcome{done: true, ok: true, output: []byte(raw), progress: 100}
}

func rawOutput(pod *corev1.Pod, h *popv1.HandlerTypeSpec) string {
	if h.Outputs != nil && h.Outputs.Mode == popv1.OutputAnnotation {
		return pod.Annotations[popv1.ReportPayloadAnnotation]
	}
	if t := terminated(pod); t != nil {
		return t.Message
	}
	return ""
}

func terminated(pod *corev1.Pod) *corev1.ContainerStateTerminated {
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == podspec.ContainerName && cs.State.Terminated != nil {
			return cs.State.Terminated
		}
	}
	return nil
}

// failureMessage explains a failed Pod: the container's exit, else the Pod's reason.
func failureMessage(pod *corev1.Pod) string {
	if pod.Status.Reason == "DeadlineExceeded" {
		return "timed out: " + strings.TrimSpace(pod.Status.Message)
	}
	if t := terminated(pod); t != nil {
		msg := fmt.Sprintf("handler exited with code %d", t.ExitCode)
		if t.Reason != "" && t.Reason != "Error" {
			msg += " (" + t.Reason + ")"
		}
		if m := strings.TrimSpace(t.Message); m != "" {
			msg += ": " + m
		}
		return msg
	}
	if pod.Status.Reason != "" {
		return fmt.Sprintf("Pod failed: %s: %s", pod.Status.Reason, strings.TrimSpace(pod.Status.Message))
	}
	return "Pod failed"
}

func running(pod *corev1.Pod, op *popv1.Operation, h *popv1.HandlerTypeSpec, now time.Time) outcome {
	o := outcome{progress: progress(pod)}
	if t := podspec.Timeout(op, h); t != nil {
		deadline := pod.CreationTimestamp.Add(t.Duration + timeoutGrace)
		if !now.Before(deadline) {
			return outcome{done: true, deletePod: true, timedOut: true, message: fmt.Sprintf("timed out after %s", t.Duration)}
		}
		o.recheckAt = deadline
	}
	return o
}

func pending(pod *corev1.Pod, op *popv1.Operation, h *popv1.HandlerTypeSpec, now time.Time) outcome {
	limit := DefaultPendingTimeout
	if h.PendingTimeout != nil {
		limit = h.PendingTimeout.Duration
	}
	why := pendingReason(pod)
	deadline := pod.CreationTimestamp.Add(limit)
	if t := podspec.Timeout(op, h); t != nil && pod.CreationTimestamp.Add(t.Duration+timeoutGrace).Before(deadline) {
		deadline = pod.CreationTimestamp.Add(t.Duration + timeoutGrace)
	}
	if !now.Before(deadline) {
		if why == "" {
			why = "no reason reported"
		}
		return outcome{done: true, deletePod: true, timedOut: true, message: fmt.Sprintf("Pod stayed Pending for %s: %s", now.Sub(pod.CreationTimestamp.Time).Round(time.Second), why)}
	}
	return outcome{message: why, recheckAt: deadline}
}

// pendingReason says why a Pod has not started: a container's waiting reason (image pull
// errors) or the scheduler's verdict.
func pendingReason(pod *corev1.Pod) string {
	for _, cs := range pod.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			return strings.TrimSpace(w.Reason + ": " + w.Message)
		}
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return strings.TrimSpace(c.Reason + ": " + c.Message)
		}
	}
	return ""
}

// popProgress is the original POP's OperationProgress as its handlers write it in
// pop.report.progress: only the fields POP for Kubernetes reads.
type popProgress struct {
	ProcessingState        string  `json:"processingState"`
	ProcessingStateMessage string  `json:"processingStateMessage"`
	PercentComplete        float64 `json:"percentComplete"`
	DiagnosticEvents       []struct {
		Message string `json:"message"`
	} `json:"diagnosticEvents"`
}

// reportedProgress decodes pop.report.progress when it holds a POP progress object.
func reportedProgress(pod *corev1.Pod) (popProgress, bool) {
	var p popProgress
	raw := strings.TrimSpace(pod.Annotations[popv1.ReportProgressAnnotation])
	if !strings.HasPrefix(raw, "{") || json.Unmarshal([]byte(raw), &p) != nil {
		return p, false
	}
	return p, true
}

// reportedFailure says whether the handler reported in pop.report.progress that the
// operation failed, and how. The original POP's handlers exit 0 whatever happens and write
// processingState COMPLETE with processingStateMessage "failed" (a bare processingState
// "failed" is taken to mean the same); its executor then failed the operation.
func reportedFailure(pod *corev1.Pod) (string, bool) {
	p, ok := reportedProgress(pod)
	state, msg := strings.ToLower(p.ProcessingState), strings.ToLower(p.ProcessingStateMessage)
	if !ok || (state != "failed" && (state != "complete" || msg != "failed")) {
		return "", false
	}
	why := "the handler reported failure in pop.report.progress (processingState " + p.ProcessingState
	if p.ProcessingStateMessage != "" {
		why += ", processingStateMessage " + p.ProcessingStateMessage
	}
	why += ")"
	for _, e := range p.DiagnosticEvents {
		if m := strings.TrimSpace(e.Message); m != "" {
			return why + ": " + m, true
		}
	}
	return why, true
}

// progress reads pop.report.progress: a number, or POP's object with percentComplete.
func progress(pod *corev1.Pod) int32 {
	raw := strings.TrimSpace(pod.Annotations[popv1.ReportProgressAnnotation])
	if f, err := strconv.ParseFloat(raw, 64); err == nil {
		return clampPercent(f)
	}
	if p, ok := reportedProgress(pod); ok {
		return clampPercent(p.PercentComplete)
	}
	return 0
}

func clampPercent(f float64) int32 {
	switch {
	case f < 0:
		return 0
	case f > 100:
		return 100
	}
	return int32(f)
}

// handlerOf rebuilds, from a Pod whose HandlerType was deleted while it ran, what judging the
// Pod needs: where its output is (the POP_OUTPUT_MODE it was given) and its deadline. The
// HandlerType's output bound is lost, so the largest a HandlerType may set applies: better
// keep a good output than fail it for a bound nobody can look up any more.
func handlerOf(pod *corev1.Pod) *popv1.HandlerTypeSpec {
	h := &popv1.HandlerTypeSpec{Outputs: &popv1.OutputSpec{Mode: popv1.OutputTerminationMessage, MaxBytes: maxOutputBytes}}
	for _, c := range pod.Spec.Containers {
		for _, e := range c.Env {
			if c.Name == podspec.ContainerName && e.Name == handler.EnvOutputMode && e.Value != "" {
				h.Outputs.Mode = popv1.OutputMode(e.Value)
			}
		}
	}
	if d := pod.Spec.ActiveDeadlineSeconds; d != nil {
		h.Timeout = &metav1.Duration{Duration: time.Duration(*d) * time.Second}
	}
	return h
}
