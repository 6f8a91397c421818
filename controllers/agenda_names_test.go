package controllers

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/podspec"
)

// TestAPodOfSomeoneElseIsNotTheAttempt: when a launch's Pod name is already taken by a Pod
// this Agenda does not own, the launch is refused (the attempt fails and the retry policy
// applies, with another name) instead of being taken for the attempt, whose result would be
// read from a stranger or which would be found "disappeared".
func TestAPodOfSomeoneElseIsNotTheAttempt(t *testing.T) {
	ag := admittedAgenda("squatted", "names-squatted")
	name := podspec.Name(ag, "only", 1)
	w := newMetricsWorld(t, ag, "names-squatted")
	stranger := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ag.Namespace, Labels: map[string]string{"app": "other"}}}
	if err := w.c.Create(context.Background(), stranger); err != nil {
		t.Fatal(err)
	}

	w.reconcile(t)

	var cur popv1.Agenda
	if err := w.c.Get(context.Background(), w.req.NamespacedName, &cur); err != nil {
		t.Fatal(err)
	}
	op := cur.Status.Operations[0]
	if op.State != popv1.OperationFailed || !strings.Contains(op.Message, "a Pod named "+name+" exists and is not this Agenda's") {
		t.Errorf("operation %s: %q; want Failed naming the Pod held by someone else", op.State, op.Message)
	}
	var still corev1.Pod
	if err := w.c.Get(context.Background(), client.ObjectKeyFromObject(stranger), &still); err != nil || still.Labels["app"] != "other" {
		t.Errorf("the stranger's Pod was changed or deleted: %v", still.ObjectMeta)
	}
}
