package popctl

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

func queueCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "queue [INSIGHT]",
		Short: "Show an Insight's queue, or where your own pending Agendas stand",
		Long: `With INSIGHT and the right to read it, the Insight's usage and the next Agendas in admission order.
Without INSIGHT, or when your credentials may not read Insights (customer roles cannot: the queues
are the platform's), your own pending Agendas in the namespace, from their status alone: position,
time waited and expected admission (limited to those queued in INSIGHT when given).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := g.newClient(g)
			if err != nil {
				return err
			}
			insight := ""
			if len(args) == 1 {
				insight = args[0]
				done, err := showInsight(cmd.Context(), g, c, types.NamespacedName{Namespace: ns, Name: insight})
				if done || !apierrors.IsForbidden(err) {
					return err
				}
				fmt.Fprintf(g.err, "Insight %s is not readable with your credentials: showing your own Agendas queued in it.\n", insight)
			}
			return showOwnQueue(cmd.Context(), g, c, ns, insight)
		},
	}
}

// showInsight prints an Insight's queue; false with the error when it cannot be read.
func showInsight(ctx context.Context, g *globals, c client.Client, key types.NamespacedName) (bool, error) {
	var ins popv1.Insight
	if err := c.Get(ctx, key, &ins); err != nil {
		return false, err
	}
	if done, err := printObject(g.out, g.output, &ins.Status); done {
		return true, err
	}
	return true, RenderQueue(g.out, &ins, time.Now())
}

// showOwnQueue prints the namespace's pending Agendas, in one Insight when insight is set.
func showOwnQueue(ctx context.Context, g *globals, c client.Client, ns, insight string) error {
	var list popv1.AgendaList
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return err
	}
	var queued []popv1.Agenda
	for _, ag := range list.Items {
		if ag.Status.QueuePosition != nil && inInsight(ag.Status.Insight, insight) {
			queued = append(queued, ag)
		}
	}
	if done, err := printObject(g.out, g.output, queued); done {
		return err
	}
	return RenderOwnQueue(g.out, queued, time.Now())
}

// inInsight tells whether status.insight (namespace/name) is the Insight asked for, given
// as a name or as namespace/name; "" asks for any.
func inInsight(status, insight string) bool {
	if insight == "" || status == insight {
		return true
	}
	_, name, _ := strings.Cut(status, "/")
	return !strings.Contains(insight, "/") && name == insight
}

// RenderOwnQueue writes pending Agendas by position, with what their status says of their
// wait. Positions are as of each Agenda's positionTime: the scheduler rewrites them only
// when they move to another bucket (docs/scheduling.md).
func RenderOwnQueue(w io.Writer, queued []popv1.Agenda, now time.Time) error {
	if len(queued) == 0 {
		_, err := fmt.Fprintln(w, "No queued Agendas.")
		return err
	}
	sort.SliceStable(queued, func(i, j int) bool {
		a, b := queued[i].Status, queued[j].Status
		if a.Insight != b.Insight {
			return a.Insight < b.Insight
		}
		return *a.QueuePosition < *b.QueuePosition
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AGENDA\tINSIGHT\tPOSITION\tWAITING\tEXPECTED ADMISSION")
	for _, ag := range queued {
		st := ag.Status
		expected := "unknown"
		if st.EstimatedAdmissionTime != nil {
			expected = "in " + age(max(st.EstimatedAdmissionTime.Sub(now), 0))
			if !st.EstimatedAdmissionTime.After(now) {
				expected = "due"
			}
		}
		since := ag.CreationTimestamp.Time
		if c := meta.FindStatusCondition(st.Conditions, popv1.AgendaQueued); c != nil && c.Status == metav1.ConditionTrue {
			since = c.LastTransitionTime.Time // a rerun waits since it was sent back
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", ag.Name, st.Insight, *st.QueuePosition, age(now.Sub(since)), expected)
	}
	return tw.Flush()
}

// RenderQueue writes an Insight's usage and the head of its queue.
func RenderQueue(w io.Writer, ins *popv1.Insight, now time.Time) error {
	fmt.Fprintf(w, "Insight %s/%s  %s  capacity %d  admitted %d  pending %d", ins.Namespace, ins.Name,
		ins.Spec.Algorithm, ins.Spec.CapacityOrDefault(), ins.Status.Admitted, ins.Status.Pending)
	if ins.Spec.Paused {
		fmt.Fprint(w, "  PAUSED")
	}
	fmt.Fprintln(w)
	if len(ins.Status.Head) == 0 {
		_, err := fmt.Fprintln(w, "  (queue empty)")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  POSITION\tAGENDA\tWAITING")
	for _, p := range ins.Status.Head {
		wait := "-"
		if p.Since != nil {
			wait = age(now.Sub(p.Since.Time))
		}
		fmt.Fprintf(tw, "  %d\t%s/%s\t%s\n", p.Position, p.Namespace, p.Name, wait)
	}
	if more := int(ins.Status.Pending) - len(ins.Status.Head); more > 0 {
		fmt.Fprintf(tw, "  …\t%d more\t\n", more)
	}
	return tw.Flush()
}
