package popctl

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

func queueCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "queue INSIGHT",
		Short: "Show an Insight's queue: the next Agendas in admission order, with positions and waits",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := g.newClient(g)
			if err != nil {
				return err
			}
			var ins popv1.Insight
			if err := c.Get(cmd.Context(), types.NamespacedName{Namespace: ns, Name: args[0]}, &ins); err != nil {
				return err
			}
			if done, err := printObject(g.out, g.output, &ins.Status); done {
				return err
			}
			return RenderQueue(g.out, &ins, time.Now())
		},
	}
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
