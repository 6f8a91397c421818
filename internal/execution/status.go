package execution

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// IsFinished is popv1.IsFinished, kept only for internal/bridge until it calls that itself;
// new code calls popv1.IsFinished.
func IsFinished(ag *popv1.Agenda) bool { return popv1.IsFinished(ag) }

// summarize derives percentComplete, times and the Running/Succeeded/Failed conditions
// from the per-operation states.
func summarize(st *popv1.AgendaStatus, ag *popv1.Agenda, now time.Time) {
	st.PercentComplete = percentComplete(st.Operations)
	if st.IsFinished() {
		return
	}
	gen := ag.Generation
	counts := map[popv1.OperationState]int{}
	main := map[popv1.OperationState]int{} // of the operations that are not finally
	mainTotal := 0
	for k, o := range st.Operations {
		counts[o.State]++
		if !finallyEntry(ag, k, o.Name) {
			main[o.State]++
			mainTotal++
		}
		if o.State == popv1.OperationExecuting && st.StartTime == nil {
			st.StartTime = o.StartTime
		}
	}
	total := len(st.Operations)
	switch {
	case counts[popv1.OperationSucceeded] == total:
		setCondition(st, gen, popv1.AgendaSucceeded, true, popv1.ReasonAllOperationsSucceed,
			fmt.Sprintf("all %d operations succeeded", total))
		setCondition(st, gen, popv1.AgendaRunning, false, popv1.ReasonFinished, "the Agenda finished")
		st.CompletionTime = ptrTime(metav1.NewTime(now))
	case counts[popv1.OperationExecuting]+counts[popv1.OperationWaiting] == 0 &&
		main[popv1.OperationSucceeded]+main[popv1.OperationSkipped] == mainTotal:
		// No main operation failed: the skipped ones' conditions were false, or they needed
		// one whose condition was, or an after outcome that did not come. A skip does not fail
		// the Agenda, and the finally operations do not decide its phase.
		setCondition(st, gen, popv1.AgendaSucceeded, true, popv1.ReasonAllOperationsSucceed,
			fmt.Sprintf("%d operations succeeded, %d skipped", counts[popv1.OperationSucceeded], counts[popv1.OperationSkipped]))
		setCondition(st, gen, popv1.AgendaRunning, false, popv1.ReasonFinished, "the Agenda finished")
		st.CompletionTime = ptrTime(metav1.NewTime(now))
		st.PercentComplete = 100
	case counts[popv1.OperationExecuting]+counts[popv1.OperationWaiting] == 0:
		setCondition(st, gen, popv1.AgendaFailed, true, popv1.ReasonOperationFailed, firstFailure(st.Operations, ag))
		setCondition(st, gen, popv1.AgendaRunning, false, popv1.ReasonFinished, "the Agenda finished")
		st.CompletionTime = ptrTime(metav1.NewTime(now))
	case counts[popv1.OperationExecuting] > 0:
		setCondition(st, gen, popv1.AgendaRunning, true, popv1.ReasonOperationsExecuting,
			fmt.Sprintf("%d of %d operations executing, %d complete", counts[popv1.OperationExecuting], total,
				counts[popv1.OperationSucceeded]))
	case ag.Spec.Suspend:
		setCondition(st, gen, popv1.AgendaRunning, false, popv1.ReasonSuspended, "no operation executing: suspended by spec.suspend")
	default:
		setCondition(st, gen, popv1.AgendaRunning, false, popv1.ReasonOperationsWaiting, waitingMessage(st.Operations))
	}
}

// waitingMessage says what an Agenda with no operation executing waits for.
func waitingMessage(ops []popv1.OperationStatus) string {
	blocked := 0
	for _, o := range ops {
		if o.State == popv1.OperationWaiting && o.BlockedSince != nil {
			blocked++
		}
	}
	if blocked > 0 {
		return fmt.Sprintf("no operation executing: %d kept from starting (HandlerType unavailable or Pod refused; see their messages)", blocked)
	}
	return "no operation executing: waiting for a retry's backoff"
}

// endWithoutRunning ends an Agenda whose Pods the controller does not track (it was never
// admitted, or its spec is invalid): every unfinished operation is Cancelled with message, and
// the Agenda Failed with reason. A finished Agenda is what releases capacity, so the scheduler
// forgets it at once.
func endWithoutRunning(ag *popv1.Agenda, reason, message string, now time.Time) popv1.AgendaStatus {
	st := *ag.Status.DeepCopy()
	st.Operations = alignOperations(ag)
	for i := range st.Operations {
		if o := &st.Operations[i]; !o.State.IsFinal() {
			o.State, o.Message, o.NextAttemptTime, o.BlockedSince = popv1.OperationCancelled, message, nil, nil
		}
	}
	setStopCondition(&st, ag.Generation, reason, message, now)
	st.PercentComplete = percentComplete(st.Operations)
	return st
}

// setStopCondition records a cancel or timeout as the Agenda's final state.
func setStopCondition(st *popv1.AgendaStatus, gen int64, reason, message string, now time.Time) {
	setCondition(st, gen, popv1.AgendaFailed, true, reason, message)
	setCondition(st, gen, popv1.AgendaRunning, false, reason, message)
	if reason == popv1.ReasonCancelled {
		setCondition(st, gen, popv1.AgendaCancelled, true, reason, message)
	}
	st.CompletionTime = ptrTime(metav1.NewTime(now))
}

// firstFailure names the first failed operation that is not finally: those decide the
// Agenda's phase.
func firstFailure(ops []popv1.OperationStatus, ag *popv1.Agenda) string {
	for k, o := range ops {
		if o.State == popv1.OperationFailed && !finallyEntry(ag, k, o.Name) {
			return fmt.Sprintf("operation %s failed: %s", o.Name, o.Message)
		}
	}
	return "operations were skipped or cancelled"
}

// percentComplete weighs every operation equally: succeeded ones count 100, executing
// ones their reported progress. Failed, skipped and cancelled ones count 0: their work was
// not done, so only a Succeeded Agenda reads 100.
func percentComplete(ops []popv1.OperationStatus) int32 {
	if len(ops) == 0 {
		return 0
	}
	var sum int64
	for _, o := range ops {
		switch o.State {
		case popv1.OperationSucceeded:
			sum += 100
		case popv1.OperationExecuting:
			sum += int64(o.Progress)
		}
	}
	return int32(sum / int64(len(ops)))
}

// setCondition sets one Agenda condition with the generation it was computed from; the
// message is truncated to what the API accepts.
func setCondition(st *popv1.AgendaStatus, gen int64, typ string, status bool, reason, message string) {
	s := metav1.ConditionFalse
	if status {
		s = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: typ, Status: s, Reason: reason, Message: truncate(message), ObservedGeneration: gen,
	})
}
