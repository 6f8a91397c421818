package bridge

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// lostClaimsTimeout bounds the pass over the center's unfinished Agendas at start.
const lostClaimsTimeout = time.Minute

// cancelLostClaims runs once before the manager starts, so before the Agenda controller
// takes up any Agenda: it cancels every unfinished bridged Agenda whose claim another
// center took over while this one was down. Left to the mirror, a taken-over Agenda whose
// Pods had ended meanwhile could launch its next operations, and finish, before the
// mirror's reconcile cancels it: the work would run to its end in two centers. It reads
// with a direct client (the cache has not started); on a DynamoDB error it leaves the rest
// to the mirror.
func cancelLostClaims(ctx context.Context, r client.Reader, w client.Writer, s *Store, center string, log logr.Logger) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, lostClaimsTimeout)
	defer cancel()
	var list popv1.AgendaList
	if err := r.List(ctx, &list, client.MatchingLabels{SourceLabel: SourceSQS}); err != nil {
		return 0, fmt.Errorf("listing bridged Agendas: %w", err)
	}
	customers := map[string]string{}
	todo := make(chan *popv1.Agenda)
	var mu sync.Mutex
	var cancelled int
	var firstErr error
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for ag := range todo {
				lost, err := lostClaim(ctx, s, ag, customers[ag.Namespace], center)
				if err == nil && lost {
					patch := client.MergeFrom(ag.DeepCopy())
					ag.Spec.Cancel = true
					if err = client.IgnoreNotFound(w.Patch(ctx, ag, patch)); err == nil {
						log.Info("Cancelled an Agenda whose claim another center took over while this one was down",
							"agenda", client.ObjectKeyFromObject(ag).String())
					}
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil && lost {
					cancelled++
				}
				mu.Unlock()
			}
		})
	}
	for n := range list.Items {
		ag := &list.Items[n]
		if popv1.IsFinished(ag) || ag.Spec.Cancel {
			continue
		}
		if _, ok := customers[ag.Namespace]; !ok {
			customers[ag.Namespace] = customerOfNamespace(ctx, r, ag.Namespace)
		}
		todo <- ag
	}
	close(todo)
	wg.Wait()
	return cancelled, firstErr
}

// lostClaim says whether another center holds the claim on the Agenda's key.
func lostClaim(ctx context.Context, s *Store, ag *popv1.Agenda, customer, center string) (bool, error) {
	rec, err := s.Get(ctx, customer, AgendaIDOf(ag))
	if err != nil {
		return false, fmt.Errorf("reading the claim of Agenda %s: %w", client.ObjectKeyFromObject(ag), err)
	}
	return rec != nil && rec.Center != "" && rec.Center != center, nil
}

// customerOfNamespace is the customer a namespace belongs to, as the mirror reads it; the
// namespace's name when it cannot be read.
func customerOfNamespace(ctx context.Context, r client.Reader, namespace string) string {
	var ns corev1.Namespace
	if err := r.Get(ctx, client.ObjectKey{Name: namespace}, &ns); err != nil {
		return namespace
	}
	return popv1.CustomerOf(namespace, ns.Labels)
}
