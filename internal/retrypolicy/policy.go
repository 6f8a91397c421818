// Package retrypolicy decides whether a failed attempt of an operation may be retried: it
// sorts the failure into a class from the Pod the attempt ran in (or the refusal of its
// creation), and checks the class and exit code against the operation's policy. It is pure:
// no client, no cluster; docs/workflow-language.md describes the policy.
package retrypolicy

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// Class is the kind of a failed attempt.
type Class string

const (
	// ExitCode: the handler exited with a non-zero code of its own.
	ExitCode Class = "ExitCode"
	// OOMKilled: the kernel killed the handler for exceeding its memory limit.
	OOMKilled Class = "OOMKilled"
	// Disrupted: the Pod was evicted, preempted or lost with its node: nothing the handler did.
	Disrupted Class = "Disrupted"
	// TimedOut: the attempt ran past its timeout, or stayed Pending past the pending timeout.
	TimedOut Class = "TimedOut"
	// PodRefused: the API server refused to create the Pod (quota, admission policy).
	PodRefused Class = "PodRefused"
)

// Any in a policy's RetryOn retries every class.
const Any Class = "Any"

// Failure is one failed attempt.
type Failure struct {
	Class Class
	// ExitCode is the handler's exit code when it exited (Class ExitCode or OOMKilled).
	ExitCode int32
}

// Policy is an operation's retry policy. The zero Policy retries every failure, as POP did
// before policies existed; the number of retries is counted elsewhere.
type Policy struct {
	// RetryOn lists the classes that may be retried (empty: all).
	RetryOn []Class
	// NeverRetryExitCodes are exit codes that mean "this input will never work": a failure
	// with one of them is final whatever RetryOn says.
	NeverRetryExitCodes []int32
}

// MaxExitCodes bounds NeverRetryExitCodes.
const MaxExitCodes = 32

// Validate refuses a policy with an unknown class or too many exit codes, naming the field
// under field ("spec.operations[2].retryPolicy").
func (p Policy) Validate(field string) error {
	for i, c := range p.RetryOn {
		if !slices.Contains([]Class{ExitCode, OOMKilled, Disrupted, TimedOut, PodRefused, Any}, c) {
			return fmt.Errorf("%s.retryOn[%d]: unknown class %q; want ExitCode, OOMKilled, Disrupted, TimedOut, PodRefused or Any", field, i, c)
		}
	}
	if len(p.NeverRetryExitCodes) > MaxExitCodes {
		return fmt.Errorf("%s.neverRetryExitCodes: %d codes; at most %d", field, len(p.NeverRetryExitCodes), MaxExitCodes)
	}
	for i, code := range p.NeverRetryExitCodes {
		if code <= 0 || code > 255 {
			return fmt.Errorf("%s.neverRetryExitCodes[%d]: %d is not a failing exit code (1-255)", field, i, code)
		}
	}
	return nil
}

// Retryable reports whether the policy allows another attempt after f.
func (p Policy) Retryable(f Failure) bool {
	if (f.Class == ExitCode || f.Class == OOMKilled) && slices.Contains(p.NeverRetryExitCodes, f.ExitCode) {
		return false
	}
	return len(p.RetryOn) == 0 || slices.Contains(p.RetryOn, Any) || slices.Contains(p.RetryOn, f.Class)
}

// Classify sorts the failure of a Pod that ended Failed, or that the manager gave up on
// (timedOut: it ran or stayed Pending too long).
func Classify(pod *corev1.Pod, container string, timedOut bool) Failure {
	if timedOut || pod.Status.Reason == "DeadlineExceeded" {
		return Failure{Class: TimedOut}
	}
	if disrupted(pod) {
		return Failure{Class: Disrupted}
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if t := cs.State.Terminated; cs.Name == container && t != nil {
			if t.Reason == "OOMKilled" {
				return Failure{Class: OOMKilled, ExitCode: t.ExitCode}
			}
			return Failure{Class: ExitCode, ExitCode: t.ExitCode}
		}
	}
	return Failure{Class: Disrupted} // failed without the handler ever ending: its node or kubelet did
}

// disrupted tells an eviction, preemption or node loss: the Pod's reason, or the
// DisruptionTarget condition Kubernetes sets before it deletes a Pod for such a cause.
func disrupted(pod *corev1.Pod) bool {
	switch pod.Status.Reason {
	case "Evicted", "Preempting", "NodeLost", "Terminated", "Shutdown", "NodeShutdown":
		return true
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
