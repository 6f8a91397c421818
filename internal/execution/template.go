package execution

import (
	"time"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// AwaitTemplate is the plan for an Agenda whose AgendaTemplate does not exist (why says
// where it was looked for): not Accepted, reason TemplateMissing, while the launch wait
// (DefaultLaunchWait when wait is 0) from the Agenda's creation runs, then Failed with the
// same reason. The deadline is in the message, so that waiting rewrites nothing.
func AwaitTemplate(ag *popv1.Agenda, why string, now time.Time, wait time.Duration) Plan {
	if wait <= 0 {
		wait = DefaultLaunchWait
	}
	deadline := ag.CreationTimestamp.Add(wait)
	var plan Plan
	if now.Before(deadline) {
		plan.Status = *ag.Status.DeepCopy()
		setCondition(&plan.Status, ag.Generation, popv1.AgendaAccepted, false, popv1.ReasonTemplateMissing,
			why+"; the Agenda fails if it is still missing at "+deadline.UTC().Format(time.RFC3339))
		plan.RequeueAfter = deadline.Sub(now)
	} else {
		plan.Status = endWithoutRunning(ag, popv1.ReasonTemplateMissing, why+"; waited "+wait.String()+" (the launch wait)", now)
		setCondition(&plan.Status, ag.Generation, popv1.AgendaAccepted, false, popv1.ReasonTemplateMissing, why)
	}
	finalize(&plan.Status, ag)
	return plan
}
