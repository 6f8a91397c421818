package execution

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/depends"
	"github.com/pop-operator/pop/internal/podspec"
	"github.com/pop-operator/pop/internal/refs"
	"github.com/pop-operator/pop/internal/retrypolicy"
	"github.com/pop-operator/pop/internal/when"
)

// planner carries one pass over an admitted, unfinished Agenda.
type planner struct {
	obs     Observed
	ops     []popv1.OperationStatus // in spec order
	plan    Plan
	recheck time.Time
	// generated caches opAt's operations for generated entries, by index.
	generated map[int]*popv1.Operation
	// busy counts the entries in progress (inProgress), once takeSlot first needs it; -1
	// until then.
	busy int
}

// run plans an admitted, unfinished Agenda from its Pods.
func run(obs Observed) Plan {
	p := &planner{obs: obs, busy: -1}
	p.plan.Status = *obs.Agenda.Status.DeepCopy()
	setAccepted(&p.plan.Status, obs.Agenda.Generation, obs.Unavailable)
	p.ops = alignOperations(obs.Agenda)
	p.adoptPods()
	p.observeAttempts()
	p.rollupGroups()
	if reason, msg, stop := p.stopRequested(); stop {
		p.stopAll(reason, msg)
	} else {
		p.skipAfterFailures()
		if obs.Agenda.Spec.Suspend {
			p.holdSuspended()
		} else {
			p.launchReady()
		}
	}
	plan := p.finish()
	setSuspended(&plan.Status, obs.Agenda)
	return plan
}

// holdSuspended is launchReady under spec.suspend: nothing starts. A waiting operation is
// not being kept from starting by its HandlerType or a refusal while the Agenda is
// suspended, so its launch wait starts again on resume.
func (p *planner) holdSuspended() {
	for i := range p.ops {
		if s := &p.ops[i]; s.State == popv1.OperationWaiting {
			s.BlockedSince = nil
		}
	}
}

// setSuspended records spec.suspend in the Suspended condition: True while it holds a
// running Agenda, False (Resumed, or Finished once the Agenda ended) after. An Agenda never
// suspended gets no condition.
func setSuspended(st *popv1.AgendaStatus, ag *popv1.Agenda) {
	was := meta.FindStatusCondition(st.Conditions, popv1.AgendaSuspended)
	switch {
	case st.IsFinished():
		if was != nil && was.Status == metav1.ConditionTrue {
			setCondition(st, ag.Generation, popv1.AgendaSuspended, false, popv1.ReasonFinished, "the Agenda finished")
		}
	case ag.Spec.Suspend:
		setCondition(st, ag.Generation, popv1.AgendaSuspended, true, popv1.ReasonSuspended,
			"spec.suspend: no new Pod starts; running ones finish")
	case was != nil && was.Status == metav1.ConditionTrue:
		setCondition(st, ag.Generation, popv1.AgendaSuspended, false, popv1.ReasonResumed, "spec.suspend lifted: operations start again")
	}
}

// finish summarises the operations into the Agenda's status and says when to look again.
func (p *planner) finish() Plan {
	for i := range p.ops {
		s := &p.ops[i]
		if s.State != popv1.OperationWaiting {
			s.BlockedSince = nil // only a waiting operation can be kept from starting
		}
		if !s.State.IsFinal() {
			s.Message = truncateTo(s.Message, MaxWaitingMessage)
		}
	}
	p.orderGenerated()
	p.plan.Status.Operations = p.ops
	summarize(&p.plan.Status, p.obs.Agenda, p.obs.Now)
	p.plan.RequeueAfter = 0
	if !p.recheck.IsZero() && !p.plan.Status.IsFinished() {
		p.plan.RequeueAfter = max(p.recheck.Sub(p.obs.Now), time.Second)
	}
	return p.plan
}

// alignOperations returns one status entry per spec operation, in spec order, keeping what
// status already records, then the entries its fan-outs generated.
func alignOperations(ag *popv1.Agenda) []popv1.OperationStatus {
	byName := make(map[string]popv1.OperationStatus, len(ag.Status.Operations))
	for _, s := range ag.Status.Operations {
		byName[s.Name] = s
	}
	ops := make([]popv1.OperationStatus, len(ag.Spec.Operations))
	for i, op := range ag.Spec.Operations {
		s, ok := byName[op.Name]
		if !ok {
			s = popv1.OperationStatus{Name: op.Name, State: popv1.OperationWaiting}
		}
		ops[i] = *s.DeepCopy()
	}
	return append(ops, generatedOf(ag)...)
}

// adoptPods takes over Pods whose attempt the status does not know yet: the controller
// created them but stopped before writing status. This is what makes a restart at any
// moment start no second Pod for the same attempt.
func (p *planner) adoptPods() {
	byLabel := p.labelIndex()
	for _, pod := range p.obs.Pods {
		i, ok := byLabel[pod.Labels[popv1.OperationLabel]]
		if !ok {
			continue
		}
		attempt, err := strconv.Atoi(pod.Labels[popv1.AttemptLabel])
		if err != nil || int32(attempt) <= p.ops[i].Attempts {
			continue
		}
		s := &p.ops[i]
		s.Attempts, s.State, s.Pod = int32(attempt), popv1.OperationExecuting, pod.Name
		s.StartTime, s.NextAttemptTime, s.CompletionTime = ptrTime(pod.CreationTimestamp), nil, nil
	}
}

// observeAttempts reads each executing operation's Pod and records its outcome.
func (p *planner) observeAttempts() {
	for i := range p.ops {
		s := &p.ops[i]
		if s.State != popv1.OperationExecuting || p.isGroup(i) {
			continue
		}
		op := p.opAt(i)
		pod, ok := p.obs.Pods[s.Pod]
		if !ok {
			p.attemptFailed(i, "Pod "+s.Pod+" disappeared before it finished", retrypolicy.Failure{Class: retrypolicy.Disrupted})
			continue
		}
		s.BlockedSince = nil // its Pod exists
		o := judgePod(pod, op, p.judgeHandler(i, pod), p.obs.Now)
		if o.deletePod {
			p.plan.Delete = append(p.plan.Delete, pod.Name)
		}
		switch {
		case o.done && o.ok:
			s.State, s.Output, s.Progress, s.Message = popv1.OperationSucceeded, string(o.output), 100, ""
			s.CompletionTime = ptrTime(metav1.NewTime(p.obs.Now))
		case o.done:
			p.attemptFailed(i, o.message, retrypolicy.Classify(pod, podspec.ContainerName, o.timedOut))
		default:
			s.Progress, s.Message = o.progress, o.message
			p.recheckAt(o.recheckAt)
		}
	}
}

// judgeHandler is the HandlerType spec a Pod is judged by: its HandlerType's, or, when
// that was deleted mid-run, what the Pod itself carries.
func (p *planner) judgeHandler(i int, pod *corev1.Pod) *popv1.HandlerTypeSpec {
	if h, ok := p.obs.Handlers[p.opAt(i).Type]; ok {
		return h
	}
	return handlerOf(pod)
}

func (p *planner) handler(i int) *popv1.HandlerTypeSpec {
	if h, ok := p.obs.Handlers[p.opAt(i).Type]; ok {
		return h
	}
	return &popv1.HandlerTypeSpec{}
}

// policyOf is the operation's retry policy; the zero policy retries every failure.
func policyOf(op *popv1.Operation) retrypolicy.Policy {
	if op.RetryPolicy == nil {
		return retrypolicy.Policy{}
	}
	pol := retrypolicy.Policy{NeverRetryExitCodes: op.RetryPolicy.NeverRetryExitCodes}
	for _, c := range op.RetryPolicy.RetryOn {
		pol.RetryOn = append(pol.RetryOn, retrypolicy.Class(c))
	}
	return pol
}

// attemptFailed counts a failed attempt and either schedules a retry after its backoff or
// fails the operation: when its retries are spent, or its retryPolicy does not retry this
// class of failure (f).
func (p *planner) attemptFailed(i int, why string, f retrypolicy.Failure) {
	s := &p.ops[i]
	s.Failures++
	s.BlockedSince = nil
	op := p.opAt(i)
	limit := retryLimit(op, p.handler(i))
	retryable := policyOf(op).Retryable(f)
	if s.Failures <= limit && !retryable {
		why += fmt.Sprintf(" (%s failure: not retried by its retryPolicy)", f.Class)
	}
	if s.Failures <= limit && retryable {
		at := p.obs.Now.Add(backoff(p.handler(i), s.Failures))
		s.State, s.NextAttemptTime = popv1.OperationWaiting, ptrMicro(metav1.NewMicroTime(at))
		s.Message = truncate("attempt " + strconv.Itoa(int(s.Attempts)) + " failed: " + why + "; retry " +
			strconv.Itoa(int(s.Failures)) + " of " + strconv.Itoa(int(limit)) + " at " + at.UTC().Format(time.RFC3339))
		p.recheckAt(at)
		return
	}
	s.State, s.Message = popv1.OperationFailed, truncate(why)
	s.CompletionTime = ptrTime(metav1.NewTime(p.obs.Now))
}

func (p *planner) recheckAt(t time.Time) {
	if !t.IsZero() && (p.recheck.IsZero() || t.Before(p.recheck)) {
		p.recheck = t
	}
}

// stopRequested reports a deletion (a finalizer holds the Agenda), a cancel or an expired
// Agenda timeout.
func (p *planner) stopRequested() (reason, message string, stop bool) {
	ag := p.obs.Agenda
	if ag.DeletionTimestamp != nil {
		return popv1.ReasonDeleted, "the Agenda is being deleted", true
	}
	if ag.Spec.Cancel {
		return popv1.ReasonCancelled, "cancelled by spec.cancel", true
	}
	if ag.Spec.Timeout != nil && p.plan.Status.AdmissionTime != nil {
		deadline := p.plan.Status.AdmissionTime.Add(ag.Spec.Timeout.Duration)
		if !p.obs.Now.Before(deadline) {
			return popv1.ReasonTimeout, "Agenda timed out after " + ag.Spec.Timeout.Duration.String(), true
		}
		p.recheckAt(deadline)
	}
	return "", "", false
}

// stopAll cancels every unfinished operation and deletes its Pod.
func (p *planner) stopAll(reason, message string) {
	for i := range p.ops {
		s := &p.ops[i]
		if s.State.IsFinal() {
			continue
		}
		if s.State == popv1.OperationExecuting {
			if pod, ok := p.obs.Pods[s.Pod]; ok && pod.DeletionTimestamp == nil && !podDone(pod) {
				p.plan.Delete = append(p.plan.Delete, s.Pod)
			}
		}
		s.State, s.Message, s.NextAttemptTime = popv1.OperationCancelled, message, nil
		s.CompletionTime = ptrTime(metav1.NewTime(p.obs.Now))
	}
	setStopCondition(&p.plan.Status, p.obs.Agenda.Generation, reason, message, p.obs.Now)
}

// skipAfterFailures marks operations that can no longer run: under FailFast every
// operation not yet started once any failed, under ContinueIndependent the failed
// operations' dependents; under both, the dependents that need a skipped operation.
func (p *planner) skipAfterFailures() {
	var failed []int
	anyFailed := false
	for i := range p.ops {
		switch p.ops[i].State {
		case popv1.OperationFailed:
			anyFailed = true
			if i < p.obs.Graph.Len() {
				failed = append(failed, i)
			}
		case popv1.OperationSkipped:
			if i < p.obs.Graph.Len() {
				failed = append(failed, i)
			}
		}
	}
	if len(failed) == 0 && !anyFailed {
		return
	}
	// Only what needs a failed or skipped operation's output is doomed: an operation reading
	// it only optionally runs with null or its default (docs/references.md, Dependencies). A
	// skip alone (a when condition false) is no failure: FailFast does not apply.
	doomed := p.obs.Graph.RequiredBy(failed...)
	if anyFailed && p.obs.Agenda.Spec.FailurePolicy != popv1.ContinueIndependent {
		// FailFast spares the finally operations and those waiting on an after outcome:
		// cleanup and compensation steps; their requirements decide them.
		doomed = doomed[:0]
		for i := range p.obs.Graph.Len() {
			if !p.obs.Graph.Finally(i) && len(p.obs.Graph.After(i)) == 0 {
				doomed = append(doomed, i)
			}
		}
		doomed = mergeSorted(doomed, p.obs.Graph.RequiredBy(failed...))
		doomed = append(doomed, p.spareableItems()...)
	}
	for _, i := range doomed {
		s := &p.ops[i]
		if s.State == popv1.OperationWaiting {
			s.State, s.NextAttemptTime = popv1.OperationSkipped, nil
			s.Message = "skipped: an operation it needs, or under FailFast any operation, failed"
			s.CompletionTime = ptrTime(metav1.NewTime(p.obs.Now))
		}
	}
}

// launchReady starts every operation whose dependencies succeeded and whose backoff is over,
// and fans out the forEach operations ready, within spec.parallelism. An operation skipped by
// its after requirements or its when condition, or a fan-out that ended at once (no items, a
// bad forEach), may make others ready (a finally, an after Skipped): the pass repeats until
// none is.
func (p *planner) launchReady() {
	for {
		ended := p.launchPass(newSources(p.obs, p.ops))
		// A resolution failure is a failure like any other: apply the failure policy now. A
		// group whose last items ended (or were skipped by it) ends in turn.
		p.skipAfterFailures()
		if p.rollupGroups() {
			p.skipAfterFailures()
			ended = true
		}
		if !ended {
			return
		}
	}
}

// launchPass starts the operations ready now and reports whether one ended instead (a skip,
// an empty or bad fan-out), which may make others ready.
func (p *planner) launchPass(src *sources) (ended bool) {
	now := p.obs.Now
	waiting := func(i int) bool {
		s := &p.ops[i]
		if s.State != popv1.OperationWaiting {
			return false
		}
		if s.NextAttemptTime != nil && now.Before(s.NextAttemptTime.Time) {
			p.recheckAt(s.NextAttemptTime.Time)
			return false
		}
		return true
	}
	succeeded := func(i int) bool { return p.ops[i].State == popv1.OperationSucceeded }
	isEnded := func(i int) bool { return p.ops[i].State.IsFinal() }
	for _, i := range p.obs.Graph.Ready(waiting, succeeded, isEnded) {
		s := &p.ops[i]
		if !p.afterHolds(i) || !p.conditionHolds(i, src) {
			ended = ended || s.State == popv1.OperationSkipped
			continue
		}
		if p.isGroup(i) {
			p.expand(i, src)
			ended = ended || s.State.IsFinal()
			continue
		}
		p.start(i, src)
	}
	for _, k := range p.readyItems() {
		p.start(k, src)
	}
	return ended
}

// start launches entry i's next attempt, unless spec.parallelism is reached, its HandlerType
// is unavailable or its payload does not resolve (which fails it).
func (p *planner) start(i int, src *sources) {
	held := inProgress(&p.ops[i])
	if !p.takeSlot(i) {
		return
	}
	s, now, op := &p.ops[i], p.obs.Now, p.opAt(i)
	if why, blocked := p.obs.Unavailable[op.Type]; blocked {
		p.waitForHandler(i, why)
		return
	}
	var payload []byte
	var err error
	if i < p.obs.Graph.Len() {
		payload, err = src.resolvePayload(i, s.Attempts+1)
	} else {
		payload, err = p.itemPayload(i, src, s.Attempts+1)
	}
	if err != nil {
		if !held {
			p.busy-- // the slot it took is free again
		}
		s.State, s.Message = popv1.OperationFailed, truncate(fmt.Sprintf("resolving payload of operation %q: %v", s.Name, err))
		s.CompletionTime = ptrTime(metav1.NewTime(now))
		return
	}
	last := p.lastProgress(i)
	s.Attempts++
	s.State, s.Pod, s.Message, s.Progress = popv1.OperationExecuting, podspec.Name(p.obs.Agenda, s.Name, s.Attempts), "", 0
	s.StartTime, s.NextAttemptTime, s.CompletionTime, s.BlockedSince = ptrTime(metav1.NewTime(now)), nil, nil, nil
	p.plan.Launch = append(p.plan.Launch, Launch{Index: i, Attempt: s.Attempts, Payload: payload, LastProgress: last})
}

// afterHolds applies operation i's after requirements, its dependencies ended: one that
// ended with another outcome than required skips it (depends.Decide).
func (p *planner) afterHolds(i int) bool {
	reqs := p.obs.Graph.After(i)
	if len(reqs) == 0 {
		return true
	}
	state := func(name string) depends.State {
		j, _ := p.obs.Graph.Index(name)
		if st := p.ops[j].State; st.IsFinal() {
			return depends.State(st)
		}
		return depends.Waiting
	}
	if depends.Decide(reqs, state) != depends.Never {
		return true
	}
	for _, r := range reqs {
		if got := state(r.Operation); !outcomeMet(got, r.Outcome) {
			s := &p.ops[i]
			s.State, s.NextAttemptTime, s.BlockedSince = popv1.OperationSkipped, nil, nil
			s.Message = truncate(fmt.Sprintf("skipped: after requires %s to end %s, it ended %s", r.Operation, outcomeName(r.Outcome), got))
			s.CompletionTime = ptrTime(metav1.NewTime(p.obs.Now))
			break
		}
	}
	return false
}

func outcomeMet(s depends.State, want depends.Outcome) bool {
	return depends.Decide([]depends.Requirement{{Operation: "x", Outcome: want}}, func(string) depends.State { return s }) == depends.Run
}

func outcomeName(o depends.Outcome) depends.Outcome {
	if o == "" {
		return depends.Succeeded
	}
	return o
}

// mergeSorted is the union of two ascending index lists, ascending.
func mergeSorted(a, b []int) []int {
	seen := make(map[int]bool, len(a)+len(b))
	var out []int
	for _, l := range [][]int{a, b} {
		for _, i := range l {
			if !seen[i] {
				seen[i] = true
				out = append(out, i)
			}
		}
	}
	sort.Ints(out)
	return out
}

// conditionHolds evaluates operation i's when condition, once the operations it reads
// ended: false skips the operation, an evaluation error fails it with the message. Without a
// condition it holds.
func (p *planner) conditionHolds(i int, src *sources) bool {
	cond := p.obs.Graph.Condition(i)
	if cond == nil {
		return true
	}
	in := when.Input{Ops: map[string]when.Outcome{}}
	if params, ok := src.lookup(&p.obs.Agenda.Spec.Operations[i], 0, refs.AgendaParams); ok {
		in.Params = params
	}
	for _, name := range cond.Operations() {
		j, _ := p.obs.Graph.Index(name)
		o := when.Outcome{Phase: string(p.ops[j].State)}
		if out, ok := src.raw(name + refs.OutputSuffix); ok {
			o.Output, _ = refs.Decode(out) // recorded outputs are JSON, a group's joined
		}
		in.Ops[name] = o
	}
	ok, err := cond.Eval(in)
	if err == nil && ok {
		return true
	}
	s := &p.ops[i]
	s.NextAttemptTime, s.BlockedSince = nil, nil
	s.CompletionTime = ptrTime(metav1.NewTime(p.obs.Now))
	if err != nil {
		s.State, s.Message = popv1.OperationFailed, truncate("evaluating when: "+err.Error())
	} else {
		s.State, s.Message = popv1.OperationSkipped, "skipped: its when condition is false"
	}
	return false
}

// lastProgress is the POP progress object the previous attempt of operation i last wrote,
// read from its Pod while that still exists (a failed Pod is kept until the Agenda ends,
// and after it under the KeepFailed policy, so a rerun finds it too).
func (p *planner) lastProgress(i int) string {
	s := &p.ops[i]
	if s.Attempts == 0 {
		return ""
	}
	pod := p.obs.Pods[podspec.Name(p.obs.Agenda, s.Name, s.Attempts)]
	if pod == nil {
		pod = p.obs.Pods[s.Pod] // named before the Pod names carried a hash
	}
	if pod == nil {
		return ""
	}
	if _, ok := reportedProgress(pod); !ok {
		return ""
	}
	return strings.TrimSpace(pod.Annotations[popv1.ReportProgressAnnotation])
}

func podDone(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

func ptrTime(t metav1.Time) *metav1.Time { return &t }

func ptrMicro(t metav1.MicroTime) *metav1.MicroTime { return &t }

// truncate fits a message into the API's 1,024 characters, cutting on a rune boundary: a
// split rune is invalid UTF-8, which the API server stores as U+FFFD, so the next pass
// would see a status that differs from the one it computed and write it again.
func truncate(s string) string { return truncateTo(s, 1024) }

// MaxWaitingMessage bounds the message of an unfinished operation (a Pending Pod's reason, a
// retry's backoff, a refusal, an unavailable HandlerType): the status lists up to
// parallelism of those at once, and their messages are most of its size
// (docs/status-layout.md). A finished operation keeps up to 1,024.
const MaxWaitingMessage = 256

func truncateTo(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
