package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/execution"
	"github.com/pop-operator/pop/internal/podspec"
)

// carryOut deletes the Pods the plan stops and creates those it starts; the launches the
// API server refused go back to the planner, which returns the status to write.
func (r *AgendaReconciler) carryOut(ctx context.Context, obs execution.Observed, plan execution.Plan) (execution.Plan, error) {
	if err := r.deletePods(ctx, obs.Agenda.Namespace, plan.Delete); err != nil {
		return plan, err
	}
	if len(plan.Launch) == 0 {
		return plan, nil
	}
	return execution.Refuse(obs, plan, r.launch(ctx, obs, plan.Status.Operations, plan.Launch)), nil
}

// afterWrite cleans up a finished Agenda's Pods and says when to look again. The cleanup
// waits for the final status to be stored: a Pod deleted earlier would look, to a reconcile
// reading the old status, like an attempt lost mid-run.
func (r *AgendaReconciler) afterWrite(ctx context.Context, ag *popv1.Agenda, pods map[string]*corev1.Pod,
	requeue time.Duration) (ctrl.Result, error) {
	if popv1.IsFinished(ag) && !r.cleanedUp(ag) && needsCleanup(ag.Spec.PodCleanup, pods) {
		if err := r.cleanupPods(ctx, ag, pods); err != nil {
			return ctrl.Result{}, err
		}
		r.cleaned.Store(client.ObjectKeyFromObject(ag), finishedAt{uid: ag.UID, at: ag.Status.CompletionTime.Time})
	}
	if at, ok := execution.TTLExpiry(ag); ok {
		return ctrl.Result{RequeueAfter: max(at.Sub(r.now()), time.Millisecond)}, nil
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// finishedAt identifies one end of an Agenda: a rerun ends it again, later.
type finishedAt struct {
	uid types.UID
	at  time.Time
}

// cleanedUp says whether this end's Pods were cleaned up already.
func (r *AgendaReconciler) cleanedUp(ag *popv1.Agenda) bool {
	v, ok := r.cleaned.Load(client.ObjectKeyFromObject(ag))
	if !ok || ag.Status.CompletionTime == nil {
		return false
	}
	f := v.(finishedAt)
	return f.uid == ag.UID && f.at.Equal(ag.Status.CompletionTime.Time)
}

func (r *AgendaReconciler) deletePods(ctx context.Context, namespace string, names []string) error {
	for _, name := range names {
		pod := &corev1.Pod{}
		pod.Namespace, pod.Name = namespace, name
		if err := r.Client.Delete(ctx, pod); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting Pod %s: %w", name, err)
		}
	}
	return nil
}

// launch creates the Pods of the attempts the plan starts and returns those the API server
// refused (execution.Refuse says what becomes of them). A Pod that already exists is the same
// attempt (names are deterministic), created by an earlier pass.
func (r *AgendaReconciler) launch(ctx context.Context, obs execution.Observed, ops []popv1.OperationStatus,
	launches []execution.Launch) []execution.Refusal {
	ag := obs.Agenda
	priorityClass, err := r.priorityClassOf(ctx, ag)
	var refusals []execution.Refusal
	for _, l := range launches {
		if err != nil { // no Pod is built without the Insight's priority class: try again
			refusals = append(refusals, execution.Refusal{Index: l.Index, Message: "reading the Insight: " + err.Error()})
			continue
		}
		op := execution.OperationOf(ag, ops, l.Index)
		pod := podspec.Build(podspec.Input{
			Agenda: ag, Operation: op, Handler: obs.Handlers[op.Type], Attempt: l.Attempt,
			Payload: l.Payload, Customer: obs.Customer, PriorityClassName: priorityClass, LastProgress: l.LastProgress,
		})
		err := r.Client.Create(ctx, pod, client.FieldOwner(AgendaFieldOwner))
		if apierrors.IsAlreadyExists(err) {
			err = r.ownExisting(ctx, ag, pod.Name)
		}
		if err == nil {
			continue
		}
		permanent := permanentRefusal(err)
		logf.FromContext(ctx).Info("Pod creation refused", "operation", op.Name, "attempt", l.Attempt, "pod", pod.Name,
			"permanent", permanent, "message", err.Error())
		refusals = append(refusals, execution.Refusal{Index: l.Index, Message: err.Error(), Permanent: permanent})
	}
	return refusals
}

// ownExisting accepts a Pod that already has the name of a launch when this Agenda owns it:
// the same attempt, created by an earlier pass. One owned by anything else (an Agenda of the
// same name since re-created, a Pod someone made) is not this attempt: taking it for one
// would read another's result, or count the attempt lost once the Pod is not found among the
// Agenda's own.
func (r *AgendaReconciler) ownExisting(ctx context.Context, ag *popv1.Agenda, name string) error {
	var pod corev1.Pod
	if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: ag.Namespace, Name: name}, &pod); err != nil {
		return err // gone in the meantime, or unreadable: a refusal that may pass
	}
	if ownedBy(&pod, ag) {
		return nil
	}
	return errNameTaken{name: name}
}

// errNameTaken is a launch whose Pod name a Pod of someone else holds; the next attempt has
// another name.
type errNameTaken struct{ name string }

func (e errNameTaken) Error() string {
	return fmt.Sprintf("a Pod named %s exists and is not this Agenda's", e.name)
}

// permanentRefusal says whether the API server would refuse the same Pod again: invalid
// (422: a deadline of 0, requests above limits), too large (413), malformed (400), or
// forbidden by policy (403: a LimitRange, Pod Security, a missing PriorityClass, a
// terminating namespace). An exceeded quota may free up, a ServiceAccount may not exist yet
// (a new namespace's default one is created moments after the namespace), and any other
// error (a timeout, 429, 5xx) may pass: those are tried again for the launch wait.
func permanentRefusal(err error) bool {
	if errors.As(err, new(errNameTaken)) {
		return true
	}
	switch {
	case apierrors.IsForbidden(err):
		msg := err.Error()
		return !strings.Contains(msg, "quota") && !strings.Contains(msg, "error looking up service account")
	case apierrors.IsInvalid(err), apierrors.IsRequestEntityTooLargeError(err), apierrors.IsBadRequest(err):
		return true
	}
	return false
}

// priorityClassOf returns the priorityClassName of the Insight that admitted the Agenda.
func (r *AgendaReconciler) priorityClassOf(ctx context.Context, ag *popv1.Agenda) (string, error) {
	ins, err := r.insightOf(ctx, ag)
	if ins == nil {
		return "", err
	}
	return ins.Spec.PriorityClassName, nil
}

// insightOf reads the Insight that admitted the Agenda; nil when it has none or it is gone.
func (r *AgendaReconciler) insightOf(ctx context.Context, ag *popv1.Agenda) (*popv1.Insight, error) {
	if ag.Status.Insight == "" {
		return nil, nil
	}
	key := types.NamespacedName{Namespace: ag.Namespace, Name: ag.Status.Insight}
	if ns, name, ok := strings.Cut(ag.Status.Insight, "/"); ok {
		key = types.NamespacedName{Namespace: ns, Name: name}
	}
	var ins popv1.Insight
	if err := r.Client.Get(ctx, key, &ins); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	return &ins, nil
}

// cleanupPods deletes finished Pods by the Agenda's policy: those labelled with its UID in
// one request, and one by one those it owns that predate the UID label. Selecting by owner
// (never by name alone) leaves alone the Pods of an earlier Agenda of the same name.
func (r *AgendaReconciler) cleanupPods(ctx context.Context, ag *popv1.Agenda, pods map[string]*corev1.Pod) error {
	if ag.Spec.PodCleanup == popv1.KeepAll || ag.UID == "" {
		return nil
	}
	opts := []client.DeleteAllOfOption{
		client.InNamespace(ag.Namespace),
		client.MatchingLabels{popv1.AgendaUIDLabel: string(ag.UID)},
	}
	if ag.Spec.PodCleanup != popv1.DeleteAll { // KeepFailed
		opts = append(opts, client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("status.phase", string(corev1.PodSucceeded))})
	}
	if err := client.IgnoreNotFound(r.Client.DeleteAllOf(ctx, &corev1.Pod{}, opts...)); err != nil {
		return err
	}
	var unlabelled []string
	for name, p := range pods {
		if p.Labels[popv1.AgendaUIDLabel] != string(ag.UID) && cleanedUp(ag.Spec.PodCleanup, p) {
			unlabelled = append(unlabelled, name)
		}
	}
	return r.deletePods(ctx, ag.Namespace, unlabelled)
}

// cleanedUp says whether the policy deletes this finished Pod.
func cleanedUp(policy popv1.PodCleanup, p *corev1.Pod) bool {
	switch policy {
	case popv1.KeepAll:
		return false
	case popv1.DeleteAll:
		return true
	}
	return p.Status.Phase == corev1.PodSucceeded
}

// needsCleanup reports whether the cleanup policy still has Pods to delete.
func needsCleanup(policy popv1.PodCleanup, pods map[string]*corev1.Pod) bool {
	for _, p := range pods {
		if cleanedUp(policy, p) {
			return true
		}
	}
	return false
}

func statusEqual(a, b popv1.AgendaStatus) bool { return equality.Semantic.DeepEqual(a, b) }
