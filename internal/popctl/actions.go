package popctl

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/archive"
)

func finished(ag *popv1.Agenda) bool {
	switch ag.Status.Phase {
	case popv1.PhaseSucceeded, popv1.PhaseFailed, popv1.PhaseCancelled:
		return true
	}
	return false
}

func watchCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "watch AGENDA",
		Short: "Follow an Agenda's DAG live (from a watch, not polling) until it finishes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := g.newClient(g)
			if err != nil {
				return err
			}
			tty := false
			if f, ok := g.out.(*os.File); ok {
				tty = term.IsTerminal(int(f.Fd()))
			}
			for {
				w, err := c.Watch(cmd.Context(), &popv1.AgendaList{}, client.InNamespace(ns),
					client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", args[0])})
				if err != nil {
					return err
				}
				done, err := follow(cmd.Context(), g, c, w, tty)
				w.Stop()
				if done || err != nil || cmd.Context().Err() != nil {
					return err
				}
			}
		},
	}
}

// follow renders every change until the Agenda finishes or the watch ends. The archive is
// read again only when the Agenda sealed a new shard.
func follow(ctx context.Context, g *globals, c client.Reader, w watch.Interface, tty bool) (bool, error) {
	var shards archiveOf
	for ev := range w.ResultChan() {
		stored, ok := ev.Object.(*popv1.Agenda)
		if !ok {
			continue
		}
		if ev.Type == watch.Deleted { // its shards may be gone already
			_, err := fmt.Fprintf(g.out, "Agenda %s was deleted\n", stored.Name)
			return true, err
		}
		ag, err := shards.expand(ctx, c, stored)
		if err != nil {
			return true, err
		}
		if tty {
			fmt.Fprint(g.out, "\033[H\033[2J")
		} else {
			fmt.Fprintln(g.out, "---")
		}
		if err := RenderTree(g.out, ag, time.Now()); err != nil {
			return true, err
		}
		if finished(ag) {
			return true, nil
		}
	}
	return false, nil
}

// archiveOf keeps the archive of the Agenda a watch follows, as of its shard count.
type archiveOf struct {
	uid    types.UID
	shards int32
	arch   archive.Archive
}

func (a *archiveOf) expand(ctx context.Context, c client.Reader, ag *popv1.Agenda) (*popv1.Agenda, error) {
	if a.arch == nil || a.uid != ag.UID || a.shards != ag.Status.Shards {
		arch, err := archive.Load(ctx, c, ag)
		if err != nil {
			return nil, err
		}
		a.uid, a.shards, a.arch = ag.UID, ag.Status.Shards, arch
	}
	out := ag.DeepCopy()
	out.Status.Operations = archive.Expand(ag, a.arch)
	return out, nil
}

func cancelCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel AGENDA",
		Short: "Cancel an Agenda: out of its queue, or its running Pods deleted",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return patchSpec(g, cmd, args[0], func(ag *popv1.Agenda) { ag.Spec.Cancel = true }, "cancelled")
		},
	}
}

func suspendCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "suspend AGENDA",
		Short: "Suspend an Agenda: running Pods finish, no new one starts until resume",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return patchSpec(g, cmd, args[0], func(ag *popv1.Agenda) { ag.Spec.Suspend = true }, "suspended")
		},
	}
}

func resumeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "resume AGENDA",
		Short: "Resume a suspended Agenda",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return patchSpec(g, cmd, args[0], func(ag *popv1.Agenda) { ag.Spec.Suspend = false }, "resumed")
		},
	}
}

func rerunCmd(g *globals) *cobra.Command {
	var mode string
	var ops []string
	cmd := &cobra.Command{
		Use:   "rerun AGENDA",
		Short: "Rerun a finished Agenda: FromFailure (default), All, or Operations with --operation",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m := popv1.RerunMode(mode)
			if m == popv1.RerunOperations && len(ops) == 0 {
				return fmt.Errorf("--mode Operations needs at least one --operation")
			}
			id := fmt.Sprintf("popctl-%d", time.Now().UnixNano())
			return patchSpec(g, cmd, args[0], func(ag *popv1.Agenda) {
				ag.Spec.Cancel = false
				ag.Spec.Rerun = &popv1.RerunSpec{ID: id, Mode: m, Operations: ops}
			}, "rerun requested ("+mode+")")
		},
	}
	cmd.Flags().StringVar(&mode, "mode", string(popv1.RerunFromFailure), "All, Operations or FromFailure")
	cmd.Flags().StringSliceVar(&ops, "operation", nil, "operations to rerun (with their dependents) for --mode Operations")
	return cmd
}

// patchSpec changes an Agenda's spec with a merge patch.
func patchSpec(g *globals, cmd *cobra.Command, name string, mutate func(*popv1.Agenda), what string) error {
	c, ns, err := g.newClient(g)
	if err != nil {
		return err
	}
	var ag popv1.Agenda
	if err := c.Get(cmd.Context(), types.NamespacedName{Namespace: ns, Name: name}, &ag); err != nil {
		return err
	}
	before := ag.DeepCopy()
	mutate(&ag)
	if err := c.Patch(cmd.Context(), &ag, client.MergeFrom(before)); err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.out, "agenda.pop.dev/%s %s\n", name, what)
	return err
}
