package ui

import (
	"time"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/dag"
)

// InsightView is what the Insights page shows of one queue.
type InsightView struct {
	Namespace          string                `json:"namespace"`
	Name               string                `json:"name"`
	Algorithm          string                `json:"algorithm"`
	Capacity           int32                 `json:"capacity"`
	Paused             bool                  `json:"paused"`
	Pending            int32                 `json:"pending"`
	Admitted           int32                 `json:"admitted"`
	OldestPendingSince *time.Time            `json:"oldestPendingSince,omitempty"`
	Head               []popv1.PendingAgenda `json:"head"`
}

// AgendaSummary is one row of the Agendas list.
type AgendaSummary struct {
	Namespace       string    `json:"namespace"`
	Name            string    `json:"name"`
	Phase           string    `json:"phase"`
	Insight         string    `json:"insight"`
	QueuePosition   *int32    `json:"queuePosition,omitempty"`
	PercentComplete int32     `json:"percentComplete"`
	Created         time.Time `json:"created"`
	Cancelled       bool      `json:"cancelRequested"`
	Suspended       bool      `json:"suspended"`
}

// AgendaView is one Agenda with its graph.
type AgendaView struct {
	AgendaSummary
	Operations []OperationView `json:"operations"`
}

// OperationView is one node of the graph: its state and where it is drawn (layer, row).
type OperationView struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	State    string   `json:"state"`
	Attempts int32    `json:"attempts"`
	Progress int32    `json:"progress"`
	Pod      string   `json:"pod,omitempty"`
	Output   string   `json:"output,omitempty"`
	Message  string   `json:"message,omitempty"`
	Deps     []string `json:"deps"`
	Layer    int      `json:"layer"`
	Row      int      `json:"row"`
}

func insightView(in *popv1.Insight) InsightView {
	v := InsightView{
		Namespace: in.Namespace, Name: in.Name, Algorithm: string(in.Spec.Algorithm),
		Paused: in.Spec.Paused, Pending: in.Status.Pending, Admitted: in.Status.Admitted,
		Head: in.Status.Head, Capacity: 1,
	}
	if v.Algorithm == "" {
		v.Algorithm = string(popv1.FIFO)
	}
	if in.Spec.Capacity != nil {
		v.Capacity = *in.Spec.Capacity
	}
	if t := in.Status.OldestPendingSince; t != nil {
		v.OldestPendingSince = &t.Time
	}
	if v.Head == nil {
		v.Head = []popv1.PendingAgenda{}
	}
	return v
}

func agendaSummary(a *popv1.Agenda) AgendaSummary {
	phase := string(a.Status.Phase)
	if phase == "" {
		phase = string(popv1.PhasePending)
	}
	return AgendaSummary{
		Namespace: a.Namespace, Name: a.Name, Phase: phase, Insight: a.Status.Insight,
		QueuePosition: a.Status.QueuePosition, PercentComplete: a.Status.PercentComplete,
		Created: a.CreationTimestamp.Time, Cancelled: a.Spec.Cancel, Suspended: a.Spec.Suspend,
	}
}

// agendaView lays the operations out in layers: an operation sits one layer right of its
// deepest dependency. An Agenda whose graph does not build (invalid) is drawn in one layer.
func agendaView(a *popv1.Agenda) AgendaView {
	states := map[string]popv1.OperationStatus{}
	for _, s := range a.Status.Operations {
		states[s.Name] = s
	}
	ops := make([]OperationView, len(a.Spec.Operations))
	for i, op := range a.Spec.Operations {
		s := states[op.Name]
		ops[i] = OperationView{
			Name: op.Name, Type: op.Type, State: string(s.State), Attempts: s.Attempts,
			Progress: s.Progress, Pod: s.Pod, Output: s.Output, Message: s.Message, Deps: []string{},
		}
		if ops[i].State == "" {
			ops[i].State = string(popv1.OperationWaiting)
		}
	}
	layout(a, ops)
	return AgendaView{AgendaSummary: agendaSummary(a), Operations: ops}
}

func layout(a *popv1.Agenda, ops []OperationView) {
	g, errs := dag.Build(&a.Spec)
	if len(errs) > 0 || g == nil {
		for i := range ops {
			ops[i].Row = i
		}
		return
	}
	rows := map[int]int{}
	for _, i := range g.TopologicalOrder() {
		for _, d := range g.Deps(i) {
			ops[i].Deps = append(ops[i].Deps, g.Name(d))
			ops[i].Layer = max(ops[i].Layer, ops[d].Layer+1)
		}
		ops[i].Row = rows[ops[i].Layer]
		rows[ops[i].Layer]++
	}
}
