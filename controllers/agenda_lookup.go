package controllers

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// nearest finds the object the Agenda's namespace holds under name, else the operator
// namespace's cluster-wide default: in the cache first, then on the API server, so that one
// created a moment before its Agenda is not reported missing (which would also cost the
// Agenda its place in the queue). nil when neither namespace has it.
func nearest[T any, P interface {
	*T
	client.Object
}](ctx context.Context, r *AgendaReconciler, namespace, name string) (P, error) {
	readers := []client.Reader{r.Client}
	if r.APIReader != nil {
		readers = append(readers, r.APIReader)
	}
	for _, reader := range readers {
		for _, ns := range []string{namespace, r.OperatorNamespace} {
			if ns == "" {
				continue
			}
			obj := P(new(T))
			err := reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, obj)
			if err == nil {
				return obj, nil
			}
			if !apierrors.IsNotFound(err) {
				return nil, err
			}
		}
	}
	return nil, nil
}
