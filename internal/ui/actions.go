package ui

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/archive"
)

// csrfHeader must be on every POST: a custom header makes a browser ask the UI first (a CORS
// preflight, which it never grants), so another site's page cannot act as a user whose
// proxy session cookie it would carry along.
const csrfHeader = "X-Requested-By"

// Bounds on a rerun request.
const (
	maxBodyBytes    = 64 << 10
	maxRerunOps     = 1000
	maxOperationLen = 63
)

// checkPost refuses a POST without the UI's own header.
func checkPost(r *http.Request) error {
	if r.Header.Get(csrfHeader) != "pop-ui" {
		return badRequest(csrfHeader + ": pop-ui header missing (actions come from the UI's page)")
	}
	return nil
}

// patchAs applies a merge patch to obj as the request's user; RBAC decides (the API
// server's 403 passes through).
func (s *Server) patchAs(w http.ResponseWriter, r *http.Request, obj client.Object, patch []byte) bool {
	if err := checkPost(r); err != nil {
		writeError(w, err)
		return false
	}
	c, err := s.clients.For(r)
	if err != nil {
		writeError(w, err)
		return false
	}
	if err := c.Patch(r.Context(), obj, client.RawPatch(types.MergePatchType, patch)); err != nil {
		writeError(w, err)
		return false
	}
	return true
}

// cancelAgenda sets spec.cancel as the user: the API server answers 403 to a user who may not
// patch the Agenda.
func (s *Server) cancelAgenda(w http.ResponseWriter, r *http.Request) {
	s.patchAgenda(w, r, []byte(`{"spec":{"cancel":true}}`))
}

// patchAgenda applies patch to the Agenda the path names, as the user, and answers with the
// patched Agenda's view.
func (s *Server) patchAgenda(w http.ResponseWriter, r *http.Request, patch []byte) {
	ns, name, err := pathKey(r)
	if err != nil {
		writeError(w, err)
		return
	}
	a := &popv1.Agenda{}
	a.Namespace, a.Name = ns, name
	if !s.patchAs(w, r, a, patch) {
		return
	}
	c, err := s.clients.For(r)
	if err != nil {
		writeError(w, err)
		return
	}
	full, err := archive.WithOperations(r.Context(), c, a) // archived operations too
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, agendaView(full))
}

// RerunRequest is the body of POST /api/agendas/{ns}/{name}/rerun.
type RerunRequest struct {
	Mode       popv1.RerunMode `json:"mode"`
	Operations []string        `json:"operations,omitempty"`
}

func parseRerun(r *http.Request) (RerunRequest, error) {
	var req RerunRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return req, err
	}
	if len(body) > maxBodyBytes {
		return req, badRequest(fmt.Sprintf("body longer than %d bytes", maxBodyBytes))
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return req, badRequest("body: " + err.Error())
	}
	switch req.Mode {
	case popv1.RerunAll, popv1.RerunFromFailure:
		req.Operations = nil
	case popv1.RerunOperations:
		if len(req.Operations) == 0 || len(req.Operations) > maxRerunOps {
			return req, badRequest(fmt.Sprintf("mode Operations needs 1 to %d operations", maxRerunOps))
		}
		for _, op := range req.Operations {
			if op == "" || len(op) > maxOperationLen {
				return req, badRequest("an operation name is empty or too long")
			}
		}
	default:
		return req, badRequest("mode must be All, FromFailure or Operations")
	}
	return req, nil
}

// rerunAgenda sets spec.rerun with a new id as the user (docs/execution.md: each new id runs
// once); the controller resets the operations the mode names.
func (s *Server) rerunAgenda(w http.ResponseWriter, r *http.Request) {
	req, err := parseRerun(r)
	if err != nil {
		writeError(w, err)
		return
	}
	id := "ui-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"rerun": map[string]any{
		"id": id, "mode": req.Mode, "operations": req.Operations}}})
	if err != nil {
		writeError(w, err)
		return
	}
	s.patchAgenda(w, r, patch)
}

// suspendAgenda sets or clears an Agenda's spec.suspend as the user: suspended, no new Pod of
// it starts and running ones finish (docs/workflow-language.md). The API server answers 403
// to a user who may not patch the Agenda.
func (s *Server) suspendAgenda(suspend bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.patchAgenda(w, r, []byte(`{"spec":{"suspend":`+strconv.FormatBool(suspend)+`}}`))
	}
}

// pauseInsight sets or clears an Insight's spec.paused as the user: paused, it admits no new
// Agenda (running ones go on). Customers have no right on Insights and get the API server's
// 403.
func (s *Server) pauseInsight(paused bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ns, name, err := pathKey(r)
		if err != nil {
			writeError(w, err)
			return
		}
		in := &popv1.Insight{}
		in.Namespace, in.Name = ns, name
		if s.patchAs(w, r, in, []byte(`{"spec":{"paused":`+strconv.FormatBool(paused)+`}}`)) {
			writeJSON(w, insightView(in))
		}
	}
}
