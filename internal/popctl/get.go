package popctl

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/archive"
)

func getCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "get AGENDA",
		Short: "Show an Agenda as its DAG with each operation's state and progress",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := g.newClient(g)
			if err != nil {
				return err
			}
			var stored popv1.Agenda
			if err := c.Get(cmd.Context(), types.NamespacedName{Namespace: ns, Name: args[0]}, &stored); err != nil {
				return err
			}
			// The whole operation list, archived operations included (docs/status-layout.md).
			ag, err := archive.WithOperations(cmd.Context(), c, &stored)
			if err != nil {
				return err
			}
			if done, err := printObject(g.out, g.output, ag); done {
				return err
			}
			return RenderTree(g.out, ag, time.Now())
		},
	}
}

func listCmd(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List Agendas",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ns, err := g.newClient(g)
			if err != nil {
				return err
			}
			var list popv1.AgendaList
			var opts []client.ListOption
			if !all {
				opts = append(opts, client.InNamespace(ns))
			}
			if err := c.List(cmd.Context(), &list, opts...); err != nil {
				return err
			}
			if done, err := printObject(g.out, g.output, &list); done {
				return err
			}
			if len(list.Items) == 0 {
				_, err := fmt.Fprintln(g.out, "No Agendas.")
				return err
			}
			return RenderList(g.out, list.Items, time.Now())
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "list Agendas of every namespace")
	return cmd
}
