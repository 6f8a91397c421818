package popctl

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/dag"
	"github.com/pop-operator/pop/internal/popjson"
)

func submitCmd(g *globals) *cobra.Command {
	var file, name string
	var priority int32
	cmd := &cobra.Command{
		Use:   "submit -f FILE",
		Short: "Submit an Agenda: a manifest, or the original POP's Agenda JSON",
		Long: `Submit reads an Agenda manifest (YAML or JSON), or the original POP's Agenda JSON
({"operations": [...], "params": {...}}), validates it locally — every problem is printed
with its field path and nothing is sent — and creates it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raw, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			ag, err := ParseAgenda(raw, name)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("priority") {
				ag.Spec.Priority = priority
			}
			if _, errs := dag.Build(&ag.Spec); len(errs) > 0 {
				for _, e := range errs {
					fmt.Fprintln(g.err, e.Error())
				}
				return fmt.Errorf("%d problem(s) in %s: nothing was submitted", len(errs), file)
			}
			c, ns, err := g.newClient(g)
			if err != nil {
				return err
			}
			if ag.Namespace == "" || g.namespace != "" {
				ag.Namespace = ns
			}
			if err := c.Create(cmd.Context(), ag); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "agenda.pop.dev/%s created in %s\n", ag.Name, ag.Namespace)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", "the Agenda file (required)")
	cmd.Flags().StringVar(&name, "name", "", "name for a POP Agenda JSON without one (default: generated)")
	cmd.Flags().Int32Var(&priority, "priority", 0, "spec.priority")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

// ParseAgenda accepts a Kubernetes manifest of kind Agenda or the original POP's JSON.
func ParseAgenda(raw []byte, name string) (*popv1.Agenda, error) {
	var probe struct {
		Kind string `json:"kind"`
	}
	if err := yaml.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("not YAML or JSON: %w", err)
	}
	if probe.Kind != "" {
		if probe.Kind != "Agenda" {
			return nil, fmt.Errorf("kind %q: want Agenda", probe.Kind)
		}
		var ag popv1.Agenda
		if err := yaml.UnmarshalStrict(raw, &ag); err != nil {
			return nil, err
		}
		if name != "" {
			ag.Name = name
		}
		return &ag, nil
	}
	var pop popjson.Agenda
	if err := yaml.Unmarshal(raw, &pop); err != nil {
		return nil, err
	}
	ag := &popv1.Agenda{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if ag.Name == "" && pop.AgendaID != "" {
		ag.Name = strings.ToLower(pop.AgendaID)
	}
	if ag.Name == "" {
		ag.GenerateName = "agenda-"
	}
	ag.Spec = pop.Spec()
	return ag, nil
}
