package ui

import (
	"context"
	"io"
	"net/http"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/archive"
	"github.com/pop-operator/pop/internal/podspec"
)

// Bounds on an operation's detail.
const (
	maxEvents       = 20
	defaultLogLines = 100
	maxLogLines     = 1000
	maxLogBytes     = 256 << 10
	logTimeout      = 15 * time.Second
)

// OperationDetail is one operation's detail panel: its spec, its status, and its attempts'
// Pods with what the handler received (the resolved payload) and what Kubernetes said.
type OperationDetail struct {
	OperationView
	Failures        int32      `json:"failures"`
	StartTime       *time.Time `json:"startTime,omitempty"`
	CompletionTime  *time.Time `json:"completionTime,omitempty"`
	NextAttemptTime *time.Time `json:"nextAttemptTime,omitempty"`
	// Payload is the operation's payload as written, references unresolved.
	Payload string `json:"payload,omitempty"`
	// ResolvedPayload is the payload the current attempt's handler received (its Pod's
	// POP_PAYLOAD), empty while no Pod exists.
	ResolvedPayload string       `json:"resolvedPayload,omitempty"`
	AttemptPods     []AttemptPod `json:"attemptPods"`
	Events          []string     `json:"events"`
}

// AttemptPod is one attempt's Pod as the user may read it.
type AttemptPod struct {
	Attempt  int    `json:"attempt"`
	Name     string `json:"name"`
	Phase    string `json:"phase"`
	Node     string `json:"node,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Message  string `json:"message,omitempty"`
	ExitCode *int32 `json:"exitCode,omitempty"`
}

func (s *Server) operationKey(r *http.Request) (client.WithWatch, *popv1.Agenda, string, error) {
	c, ns, name, err := s.clientAndKey(r)
	if err != nil {
		return nil, nil, "", err
	}
	op := r.PathValue("operation")
	if op == "" || len(op) > maxOperationLen {
		return nil, nil, "", badRequest("operation: empty or too long")
	}
	var a popv1.Agenda
	if err := c.Get(r.Context(), types.NamespacedName{Namespace: ns, Name: name}, &a); err != nil {
		return nil, nil, "", err
	}
	for i := range a.Spec.Operations {
		if a.Spec.Operations[i].Name == op {
			full, err := archive.WithOperations(r.Context(), c, &a) // archived operations too
			return c, full, op, err
		}
	}
	return nil, nil, "", notFound("operation " + op + " is not in Agenda " + ns + "/" + name)
}

// getOperation answers an operation's detail, every read made as the user.
func (s *Server) getOperation(w http.ResponseWriter, r *http.Request) {
	c, a, op, err := s.operationKey(r)
	if err != nil {
		writeError(w, err)
		return
	}
	d := operationDetail(a, op)
	var pods corev1.PodList
	if err := c.List(r.Context(), &pods, client.InNamespace(a.Namespace), client.Limit(maxListItems),
		client.MatchingLabels{popv1.AgendaUIDLabel: string(a.UID), popv1.OperationLabel: podspec.OperationLabelValue(op)}); err != nil {
		writeError(w, err)
		return
	}
	d.AttemptPods = attemptPods(pods.Items)
	for i := range pods.Items {
		if p := &pods.Items[i]; p.Name == d.Pod {
			d.ResolvedPayload = envValue(p, "POP_PAYLOAD")
		}
	}
	if d.Pod != "" {
		if d.Events, err = podEvents(r, c, a.Namespace, d.Pod); err != nil {
			writeError(w, err)
			return
		}
	}
	writeJSON(w, d)
}

func operationDetail(a *popv1.Agenda, op string) OperationDetail {
	d := OperationDetail{AttemptPods: []AttemptPod{}, Events: []string{}}
	for _, o := range agendaView(a).Operations {
		if o.Name == op {
			d.OperationView = o
		}
	}
	for _, o := range a.Spec.Operations {
		if o.Name == op && o.Payload != nil {
			d.Payload = string(o.Payload.Raw)
		}
	}
	for _, st := range a.Status.Operations {
		if st.Name != op {
			continue
		}
		d.Failures = st.Failures
		if st.StartTime != nil {
			d.StartTime = &st.StartTime.Time
		}
		if st.CompletionTime != nil {
			d.CompletionTime = &st.CompletionTime.Time
		}
		if st.NextAttemptTime != nil {
			d.NextAttemptTime = &st.NextAttemptTime.Time
		}
	}
	return d
}

func attemptPods(pods []corev1.Pod) []AttemptPod {
	out := make([]AttemptPod, 0, len(pods))
	for i := range pods {
		p := &pods[i]
		n, _ := strconv.Atoi(p.Labels[popv1.AttemptLabel])
		ap := AttemptPod{Attempt: n, Name: p.Name, Phase: string(p.Status.Phase), Node: p.Spec.NodeName,
			Reason: p.Status.Reason, Message: p.Status.Message}
		for _, cs := range p.Status.ContainerStatuses {
			if t := cs.State.Terminated; cs.Name == podspec.ContainerName && t != nil {
				ap.ExitCode = &t.ExitCode
				ap.Reason = t.Reason
				if t.Message != "" && ap.Message == "" {
					ap.Message = t.Message
				}
			}
		}
		out = append(out, ap)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Attempt < out[j].Attempt })
	return out
}

func envValue(p *corev1.Pod, name string) string {
	for _, c := range p.Spec.Containers {
		for _, e := range c.Env {
			if c.Name == podspec.ContainerName && e.Name == name {
				return e.Value
			}
		}
	}
	return ""
}

// podEvents lists the events about a Pod, newest last, as the user.
func podEvents(r *http.Request, c client.Client, ns, pod string) ([]string, error) {
	var list corev1.EventList
	sel := fields.SelectorFromSet(fields.Set{"involvedObject.kind": "Pod", "involvedObject.name": pod})
	if err := c.List(r.Context(), &list, client.InNamespace(ns), client.MatchingFieldsSelector{Selector: sel}); err != nil {
		return nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool { return eventTime(&list.Items[i]).Before(eventTime(&list.Items[j])) })
	out := []string{}
	for i := max(0, len(list.Items)-maxEvents); i < len(list.Items); i++ {
		e := &list.Items[i]
		out = append(out, e.Type+" "+e.Reason+": "+e.Message)
	}
	return out, nil
}

func eventTime(e *corev1.Event) time.Time {
	if !e.LastTimestamp.IsZero() {
		return e.LastTimestamp.Time
	}
	return e.EventTime.Time
}

// operationLog answers the tail of an attempt's handler log (pods/log) as the user:
// ?attempt=N (default the current attempt), ?tail=lines (default 100, at most 1000).
func (s *Server) operationLog(w http.ResponseWriter, r *http.Request) {
	_, a, op, err := s.operationKey(r)
	if err != nil {
		writeError(w, err)
		return
	}
	pod, lines, err := logTarget(r, a, op)
	if err != nil {
		writeError(w, err)
		return
	}
	cfg, err := s.clients.Config(r)
	if err != nil {
		writeError(w, err)
		return
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		writeError(w, err)
		return
	}
	limit := int64(maxLogBytes)
	// Stream, not DoRaw: it keeps the API server's refusal (403 and its message) as it is.
	ctx, cancel := context.WithTimeout(r.Context(), logTimeout)
	defer cancel()
	body, err := cs.CoreV1().Pods(a.Namespace).GetLogs(pod, &corev1.PodLogOptions{
		Container: podspec.ContainerName, TailLines: &lines, LimitBytes: &limit}).Stream(ctx)
	if err != nil {
		writeError(w, err)
		return
	}
	defer func() { _ = body.Close() }()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.Copy(w, io.LimitReader(body, maxLogBytes))
}

// logTarget picks the Pod and the number of lines of a log request.
func logTarget(r *http.Request, a *popv1.Agenda, op string) (string, int64, error) {
	lines := int64(defaultLogLines)
	if v := r.URL.Query().Get("tail"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > maxLogLines {
			return "", 0, badRequest("tail: 1 to " + strconv.Itoa(maxLogLines) + " lines")
		}
		lines = n
	}
	d := operationDetail(a, op)
	pod := d.Pod
	if v := r.URL.Query().Get("attempt"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 1 || int32(n) > d.Attempts {
			return "", 0, badRequest("attempt: 1 to " + strconv.Itoa(int(d.Attempts)))
		}
		pod = podspec.Name(a, op, int32(n))
	}
	if pod == "" {
		return "", 0, notFound("operation " + op + " has no Pod yet")
	}
	return pod, lines, nil
}
