package ui

import (
	"context"
	"net/http"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/archive"
)

// agendaFilter is the Agendas list's filters from the query string, bounded.
type agendaFilter struct {
	namespace, phase, insight string
	selector                  labels.Selector
}

func parseAgendaFilter(r *http.Request) (agendaFilter, error) {
	ns, err := namespaceParam(r)
	if err != nil {
		return agendaFilter{}, err
	}
	q := r.URL.Query()
	f := agendaFilter{namespace: ns, phase: q.Get("phase"), insight: q.Get("insight"), selector: labels.Everything()}
	if len(f.phase) > 32 || len(f.insight) > 253 {
		return f, badRequest("phase or insight too long")
	}
	if sel := q.Get("selector"); sel != "" {
		if len(sel) > maxSelectorLen {
			return f, badRequest("selector too long")
		}
		if f.selector, err = labels.Parse(sel); err != nil {
			return f, badRequest("selector: " + err.Error())
		}
	}
	return f, nil
}

func (f agendaFilter) keep(s AgendaSummary) bool {
	return (f.phase == "" || s.Phase == f.phase) && (f.insight == "" || s.Insight == f.insight)
}

func listOptions(ns string, sel labels.Selector) []client.ListOption {
	opts := []client.ListOption{client.Limit(maxListItems), client.MatchingLabelsSelector{Selector: sel}}
	if ns != "" {
		opts = append(opts, client.InNamespace(ns))
	}
	return opts
}

func insightViews(ctx context.Context, c client.Client, ns string) ([]InsightView, error) {
	var list popv1.InsightList
	if err := c.List(ctx, &list, listOptions(ns, labels.Everything())...); err != nil {
		return nil, err
	}
	out := make([]InsightView, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, insightView(&list.Items[i]))
	}
	return out, nil
}

func agendaSummaries(ctx context.Context, c client.Client, f agendaFilter) ([]AgendaSummary, error) {
	var list popv1.AgendaList
	if err := c.List(ctx, &list, listOptions(f.namespace, f.selector)...); err != nil {
		return nil, err
	}
	out := make([]AgendaSummary, 0, len(list.Items))
	for i := range list.Items {
		if s := agendaSummary(&list.Items[i]); f.keep(s) {
			out = append(out, s)
		}
	}
	return out, nil
}

func oneAgenda(ctx context.Context, c client.Client, ns, name string) (AgendaView, error) {
	var a popv1.Agenda
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &a); err != nil {
		return AgendaView{}, err
	}
	full, err := archive.WithOperations(ctx, c, &a) // archived operations too, read as the user
	if err != nil {
		return AgendaView{}, err
	}
	return agendaView(full), nil
}

func (s *Server) listInsights(w http.ResponseWriter, r *http.Request) {
	c, ns, err := s.clientAndNamespace(r)
	if err != nil {
		writeError(w, err)
		return
	}
	v, err := insightViews(r.Context(), c, ns)
	respond(w, v, err)
}

func (s *Server) listAgendas(w http.ResponseWriter, r *http.Request) {
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
	v, err := agendaSummaries(r.Context(), c, f)
	respond(w, v, err)
}

func (s *Server) getAgenda(w http.ResponseWriter, r *http.Request) {
	c, ns, name, err := s.clientAndKey(r)
	if err != nil {
		writeError(w, err)
		return
	}
	v, err := oneAgenda(r.Context(), c, ns, name)
	respond(w, v, err)
}

func respond(w http.ResponseWriter, v any, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, v)
}

func (s *Server) clientAndNamespace(r *http.Request) (client.WithWatch, string, error) {
	ns, err := namespaceParam(r)
	if err != nil {
		return nil, "", err
	}
	c, err := s.clients.For(r)
	return c, ns, err
}

func (s *Server) clientAndKey(r *http.Request) (client.WithWatch, string, string, error) {
	ns, name, err := pathKey(r)
	if err != nil {
		return nil, "", "", err
	}
	c, err := s.clients.For(r)
	return c, ns, name, err
}
