// Package ui serves POP's web UI: an embedded page and a JSON and server-sent-events API
// that reads and changes Agendas and Insights as the person using it (see docs/ui.md).
package ui

import (
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation"
)

//go:embed static
var static embed.FS

// Bounds on what one request may ask for.
const (
	maxListItems   = 500
	maxSelectorLen = 1024
	maxStreams     = 256
)

// Server is the UI's HTTP handler.
type Server struct {
	clients ClientSource
	mux     *http.ServeMux
	// streams bounds the open server-sent-event streams, each holding a watch.
	streams chan struct{}
}

// NewServer serves the UI with clients acting as each request's user.
func NewServer(clients ClientSource) *Server {
	s := &Server{clients: clients, mux: http.NewServeMux(), streams: make(chan struct{}, maxStreams)}
	page, _ := fs.Sub(static, "static")
	files := http.FileServerFS(page)
	s.mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" && strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		files.ServeHTTP(w, r)
	})
	s.mux.HandleFunc("GET /api/insights", s.listInsights)
	s.mux.HandleFunc("GET /api/agendas", s.listAgendas)
	s.mux.HandleFunc("GET /api/agendas/{namespace}/{name}", s.getAgenda)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	s.mux.HandleFunc("GET /api/agendas/{namespace}/{name}/operations/{operation}", s.getOperation)
	s.mux.HandleFunc("GET /api/agendas/{namespace}/{name}/operations/{operation}/log", s.operationLog)
	s.mux.HandleFunc("POST /api/agendas/{namespace}/{name}/cancel", s.cancelAgenda)
	s.mux.HandleFunc("POST /api/agendas/{namespace}/{name}/rerun", s.rerunAgenda)
	s.mux.HandleFunc("POST /api/agendas/{namespace}/{name}/suspend", s.suspendAgenda(true))
	s.mux.HandleFunc("POST /api/agendas/{namespace}/{name}/resume", s.suspendAgenda(false))
	s.mux.HandleFunc("POST /api/insights/{namespace}/{name}/pause", s.pauseInsight(true))
	s.mux.HandleFunc("POST /api/insights/{namespace}/{name}/resume", s.pauseInsight(false))
	s.mux.HandleFunc("GET /api/watch/insights", s.watchInsights)
	s.mux.HandleFunc("GET /api/watch/agendas", s.watchAgendas)
	s.mux.HandleFunc("GET /api/watch/agendas/{namespace}/{name}", s.watchAgenda)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
	s.mux.ServeHTTP(w, r)
}

// writeJSON answers v as JSON.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// writeError maps an error to its HTTP status: the API server's own (403, 404 …) passes
// through, so a customer gets the API server's refusal, not an empty page.
func writeError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	var status apierrors.APIStatus
	switch {
	case errors.Is(err, errUnauthenticated):
		code = http.StatusUnauthorized
	case errors.As(err, &status):
		code = int(status.Status().Code)
	case errors.Is(err, errBadRequest):
		code = http.StatusBadRequest
	case errors.Is(err, errNotFound):
		code = http.StatusNotFound
	case errors.Is(err, errNotImplemented):
		code = http.StatusNotImplemented
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": err.Error()})
}

var errBadRequest = errors.New("bad request")

// badRequest wraps a message as errBadRequest.
func badRequest(msg string) error { return errors.Join(errBadRequest, errors.New(msg)) }

// namespaceParam returns the optional namespace query parameter, checked as a namespace name.
func namespaceParam(r *http.Request) (string, error) {
	ns := r.URL.Query().Get("namespace")
	if ns == "" {
		return "", nil
	}
	return ns, checkName("namespace", ns)
}

// pathKey returns the {namespace}/{name} of the request's path, checked.
func pathKey(r *http.Request) (string, string, error) {
	ns, name := r.PathValue("namespace"), r.PathValue("name")
	if err := checkName("namespace", ns); err != nil {
		return "", "", err
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return "", "", badRequest("name: " + errs[0])
	}
	return ns, name, nil
}

func checkName(what, v string) error {
	if errs := validation.IsDNS1123Label(v); len(errs) > 0 {
		return badRequest(what + ": " + errs[0])
	}
	return nil
}

var errNotFound = errors.New("not found")

// notFound is a 404 of the UI's own (an operation not in the Agenda, no Pod yet).
func notFound(msg string) error { return errors.Join(errNotFound, errors.New(msg)) }
