package execution

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/retrypolicy"
)

// DefaultLaunchWait is how long a ready operation may be kept from starting — its
// HandlerType missing or not Ready, or its Pod refused for a reason that may pass — before
// it fails. Like DefaultPendingTimeout: long enough to create a forgotten HandlerType or
// free some quota, short enough that an Agenda does not hold its Insight's capacity forever.
const DefaultLaunchWait = 5 * time.Minute

// A refused Pod is tried again after a wait as long as the time it has been refused so far
// (so the waits double), within these bounds.
const (
	minRefusalBackoff = time.Second
	maxRefusalBackoff = 30 * time.Second
)

// Refusal is a launch whose Pod the API server refused.
type Refusal struct {
	Index int
	// Message is the API server's answer.
	Message string
	// Permanent says the same Pod would be refused again (invalid, forbidden by policy).
	Permanent bool
}

// Refuse feeds back into a plan the launches whose Pods the API server refused, and returns
// the plan without them, its status and requeue time brought up to date. A permanent refusal fails
// the attempt (the retry policy applies). Any other puts the operation back to wait and
// tries again with backoff until the launch wait ends, which fails the attempt.
func Refuse(obs Observed, plan Plan, refusals []Refusal) Plan {
	if len(refusals) == 0 {
		return plan
	}
	plan.Status = *plan.Status.DeepCopy()
	p := &planner{obs: obs, ops: plan.Status.Operations, plan: plan, busy: -1}
	if plan.RequeueAfter > 0 {
		p.recheck = obs.Now.Add(plan.RequeueAfter)
	}
	for _, r := range refusals {
		p.refused(r)
	}
	p.plan.Launch = started(plan.Launch, refusals)
	p.rollupGroups()
	p.skipAfterFailures()
	// Recomputed by finish from the attempts whose Pods exist.
	p.plan.Status.StartTime = obs.Agenda.Status.StartTime
	out := p.finish()
	finalize(&out.Status, obs.Agenda)
	return out
}

// started is what of launches was started: all but the refused, so that the plan says what
// happened.
func started(launches []Launch, refusals []Refusal) []Launch {
	refused := make(map[int]bool, len(refusals))
	for _, r := range refusals {
		refused[r.Index] = true
	}
	var out []Launch
	for _, l := range launches {
		if !refused[l.Index] {
			out = append(out, l)
		}
	}
	return out
}

func (p *planner) refused(r Refusal) {
	s := &p.ops[r.Index]
	s.Pod, s.StartTime = "", nil
	why := "Pod refused by the API server: " + r.Message
	if r.Permanent {
		p.attemptFailed(r.Index, why, retrypolicy.Failure{Class: retrypolicy.PodRefused})
		return
	}
	now := p.obs.Now
	since := p.blockedBefore(s.Name)
	deadline := since.Add(p.launchWait())
	if !now.Before(deadline) {
		p.attemptFailed(r.Index, fmt.Sprintf("%s (refused since %s)", why, since.UTC().Format(time.RFC3339)),
			retrypolicy.Failure{Class: retrypolicy.PodRefused})
		return
	}
	s.Attempts-- // no Pod was made: the number is free for the next try
	next := now.Add(min(max(now.Sub(since), minRefusalBackoff), maxRefusalBackoff, deadline.Sub(now)))
	s.State, s.BlockedSince, s.NextAttemptTime = popv1.OperationWaiting, ptrTime(metav1.NewTime(since)), ptrMicro(metav1.NewMicroTime(next))
	s.Message = truncate(fmt.Sprintf("%s; trying again at %s, giving up at %s", why,
		next.UTC().Format(time.RFC3339), deadline.UTC().Format(time.RFC3339)))
	p.recheckAt(next)
}

// blockedBefore is when the operation was first kept from starting, as the status read
// at the start of the pass says; now if it was not.
func (p *planner) blockedBefore(name string) time.Time {
	for _, o := range p.obs.Agenda.Status.Operations {
		if o.Name == name && o.BlockedSince != nil {
			return o.BlockedSince.Time
		}
	}
	return p.obs.Now
}

// waitForHandler holds a ready operation whose HandlerType is missing or not Ready, saying
// why, and fails it once it has waited the launch wait.
func (p *planner) waitForHandler(i int, why string) {
	s, now := &p.ops[i], p.obs.Now
	if s.BlockedSince == nil {
		s.BlockedSince = ptrTime(metav1.NewTime(now))
	}
	deadline := s.BlockedSince.Add(p.launchWait())
	if !now.Before(deadline) {
		s.State, s.BlockedSince = popv1.OperationFailed, nil
		s.Message = truncate(fmt.Sprintf("no usable HandlerType after waiting %s: %s", p.launchWait(), why))
		s.CompletionTime = ptrTime(metav1.NewTime(now))
		return
	}
	s.Message = truncate(fmt.Sprintf("waiting until %s for its HandlerType: %s", deadline.UTC().Format(time.RFC3339), why))
	p.recheckAt(deadline)
}

func (p *planner) launchWait() time.Duration {
	if p.obs.LaunchWait > 0 {
		return p.obs.LaunchWait
	}
	return DefaultLaunchWait
}
