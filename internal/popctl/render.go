package popctl

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/yaml"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/dag"
	"github.com/pop-operator/pop/internal/fanout"
)

// printObject writes obj as JSON or YAML; ok is false for the table format. Objects read
// through a typed client carry no apiVersion/kind: they are set, as kubectl prints them.
func printObject(w io.Writer, format string, obj any) (bool, error) {
	if ro, ok := obj.(runtime.Object); ok {
		if gvk, err := apiutil.GVKForObject(ro, Scheme()); err == nil {
			ro.GetObjectKind().SetGroupVersionKind(gvk)
		}
	}
	switch format {
	case "json":
		b, err := json.MarshalIndent(obj, "", "  ")
		if err != nil {
			return true, err
		}
		_, err = fmt.Fprintln(w, string(b))
		return true, err
	case "yaml":
		b, err := yaml.Marshal(obj)
		if err != nil {
			return true, err
		}
		_, err = w.Write(b)
		return true, err
	case "table", "":
		return false, nil
	}
	return true, fmt.Errorf("unknown output format %q: want table, json or yaml", format)
}

// RenderList writes Agendas as a table.
func RenderList(w io.Writer, items []popv1.Agenda, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPHASE\tINSIGHT\tPROGRESS\tOPERATIONS\tAGE")
	for _, ag := range items {
		done, total := operationCounts(&ag)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d%%\t%d/%d\t%s\n", ag.Name, orDash(string(ag.Status.Phase)), orDash(ag.Status.Insight),
			ag.Status.PercentComplete, done, total, age(now.Sub(ag.CreationTimestamp.Time)))
	}
	return tw.Flush()
}

// operationCounts is how many of the Agenda's operations succeeded, of how many: from
// status.counts, which counts the archived ones too; from the listed ones for a status
// written before counts existed. Generated operations (a fan-out's items) count like the
// spec's.
func operationCounts(ag *popv1.Agenda) (done, total int) {
	if c := ag.Status.Counts; c != nil {
		return int(c.Succeeded), int(c.Total)
	}
	for _, o := range ag.Status.Operations {
		if o.State == popv1.OperationSucceeded {
			done++
		}
	}
	return done, max(len(ag.Spec.Operations), len(ag.Status.Operations))
}

// RenderTree writes one Agenda as its DAG: operations in dependency order, indented by
// depth, each with state, a progress bar, attempts, duration and what it waits for.
func RenderTree(w io.Writer, ag *popv1.Agenda, now time.Time) error {
	fmt.Fprintf(w, "Agenda %s/%s  %s  %d%%", ag.Namespace, ag.Name, orDash(string(ag.Status.Phase)), ag.Status.PercentComplete)
	if ag.Status.Insight != "" {
		fmt.Fprintf(w, "  insight %s", ag.Status.Insight)
	}
	fmt.Fprintln(w)
	g, errs := dag.Build(&ag.Spec)
	if len(errs) > 0 {
		_, err := fmt.Fprintf(w, "  invalid: %v\n", errs.ToAggregate())
		return err
	}
	status := map[string]popv1.OperationStatus{}
	for _, o := range ag.Status.Operations {
		status[o.Name] = o
	}
	depth := make([]int, g.Len())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, i := range g.TopologicalOrder() {
		var deps []string
		for _, d := range g.Deps(i) {
			depth[i] = max(depth[i], depth[d]+1)
			deps = append(deps, g.Name(d))
		}
		op, o := &ag.Spec.Operations[i], status[g.Name(i)]
		name := g.Name(i)
		if op.Finally {
			name += " (finally)"
		}
		tries := attempts(o.Attempts)
		if op.ForEach != nil {
			tries = fmt.Sprintf("%d items", len(itemsOf(ag, g.Name(i))))
		}
		line := fmt.Sprintf("  %s%s %s\t%s\t%s\t%s\t%s", strings.Repeat("  ", depth[i]), icon(o.State), name,
			orDash(string(o.State)), bar(o), tries, opDuration(o, now))
		line += "\t"
		if len(deps) > 0 {
			line += "← " + strings.Join(deps, ", ")
		}
		if op.ForEach != nil || shownMessage(o) {
			line += "\t" + o.Message
		}
		fmt.Fprintln(tw, line)
		if op.ForEach != nil {
			renderItems(tw, strings.Repeat("  ", depth[i]+1), itemsOf(ag, g.Name(i)), now)
		}
	}
	return tw.Flush()
}

// maxItemLines bounds the items RenderTree lists under a fan-out; the group's line counts
// them all by state.
const maxItemLines = 10

// renderItems lists a fan-out's generated operations under its line: the first
// maxItemLines, then those that failed, then how many more there are.
func renderItems(tw io.Writer, indent string, items []popv1.OperationStatus, now time.Time) {
	shown := 0
	for k, o := range items {
		if k >= maxItemLines && o.State != popv1.OperationFailed {
			continue
		}
		shown++
		line := fmt.Sprintf("  %s%s %s\t%s\t%s\t%s\t%s\t", indent, icon(o.State), o.Name, orDash(string(o.State)), bar(o),
			attempts(o.Attempts), opDuration(o, now))
		if shownMessage(o) {
			line += "\t" + o.Message
		}
		fmt.Fprintln(tw, line)
	}
	if more := len(items) - shown; more > 0 {
		fmt.Fprintf(tw, "  %s… %d more items\t\t\t\t\t\n", indent, more)
	}
}

// itemsOf are the operations the fan-out group generated, in item order as status keeps them.
func itemsOf(ag *popv1.Agenda, group string) []popv1.OperationStatus {
	var out []popv1.OperationStatus
	for _, o := range ag.Status.Operations {
		if g, _, ok := fanout.Split(o.Name); ok && g == group {
			out = append(out, o)
		}
	}
	return out
}

// shownMessage says whether the tree shows an operation's message: why it failed, waits or
// was skipped.
func shownMessage(o popv1.OperationStatus) bool {
	switch o.State {
	case popv1.OperationFailed, popv1.OperationWaiting, popv1.OperationSkipped:
		return o.Message != ""
	}
	return false
}

func icon(s popv1.OperationState) string {
	switch s {
	case popv1.OperationSucceeded:
		return "✔"
	case popv1.OperationFailed:
		return "✘"
	case popv1.OperationExecuting:
		return "▶"
	case popv1.OperationSkipped, popv1.OperationCancelled:
		return "–"
	}
	return "·"
}

func bar(o popv1.OperationStatus) string {
	p := int(o.Progress)
	if o.State == popv1.OperationSucceeded {
		p = 100
	}
	filled := p / 10
	return "[" + strings.Repeat("#", filled) + strings.Repeat(".", 10-filled) + fmt.Sprintf("] %3d%%", p)
}

func attempts(n int32) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

func opDuration(o popv1.OperationStatus, now time.Time) string {
	if o.StartTime == nil {
		return "-"
	}
	end := now
	if o.CompletionTime != nil {
		end = o.CompletionTime.Time
	}
	return end.Sub(o.StartTime.Time).Round(time.Second).String()
}

func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
