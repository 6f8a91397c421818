package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// Stream timing: a stream ends after streamLifetime (the browser's EventSource reconnects,
// and the user's rights are checked afresh); changes are sent at most every coalesce.
const (
	streamLifetime = 10 * time.Minute
	heartbeat      = 15 * time.Second
	coalesce       = 200 * time.Millisecond
)

// render computes what a stream sends; it runs with the user's client on every change.
type render func(ctx context.Context) (any, error)

func (s *Server) watchInsights(w http.ResponseWriter, r *http.Request) {
	c, ns, err := s.clientAndNamespace(r)
	if err != nil {
		writeError(w, err)
		return
	}
	s.stream(w, r, c, &popv1.InsightList{}, listOptions(ns, labels.Everything()), func(ctx context.Context) (any, error) {
		return insightViews(ctx, c, ns)
	})
}

func (s *Server) watchAgendas(w http.ResponseWriter, r *http.Request) {
	f, err := parseAgendaFilter(r)
	if err != nil {
		writeError(w, err)
		return
	}
	c, err := s.clients.For(r)
	if err != nil {
		writeError(w, err)
		return
	}
	s.stream(w, r, c, &popv1.AgendaList{}, listOptions(f.namespace, f.selector), func(ctx context.Context) (any, error) {
		return agendaSummaries(ctx, c, f)
	})
}

func (s *Server) watchAgenda(w http.ResponseWriter, r *http.Request) {
	c, ns, name, err := s.clientAndKey(r)
	if err != nil {
		writeError(w, err)
		return
	}
	opts := []client.ListOption{client.InNamespace(ns), client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", name)}}
	s.stream(w, r, c, &popv1.AgendaList{}, opts, func(ctx context.Context) (any, error) {
		return oneAgenda(ctx, c, ns, name)
	})
}

// stream sends render's result as a server-sent event now and after every change a watch
// (made as the user) reports. Steps: 1. take a stream slot; 2. render once, so a refusal is
// an HTTP status, not an event; 3. watch; 4. send on changes, coalesced, with heartbeats.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, c client.WithWatch, list client.ObjectList, opts []client.ListOption, fn render) {
	select {
	case s.streams <- struct{}{}:
		defer func() { <-s.streams }()
	default:
		http.Error(w, "too many open streams", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), streamLifetime)
	defer cancel()
	first, err := fn(ctx)
	if err != nil {
		writeError(w, err)
		return
	}
	wt, err := c.Watch(ctx, list, opts...)
	if err != nil {
		writeError(w, err)
		return
	}
	defer wt.Stop()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	if sendEvent(w, first) != nil {
		return
	}
	s.pump(ctx, w, wt.ResultChan(), fn)
}

// pump sends fn's result after changes until the watch or the context ends.
func (s *Server) pump(ctx context.Context, w http.ResponseWriter, changes <-chan watch.Event, fn render) {
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	var due <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changes:
			if !ok {
				return
			}
			if due == nil {
				due = time.After(coalesce)
			}
		case <-due:
			due = nil
			v, err := fn(ctx)
			if err != nil || sendEvent(w, v) != nil {
				return
			}
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return
			}
			flush(w)
		}
	}
}

func sendEvent(w http.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
		return err
	}
	flush(w)
	return nil
}

func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}
