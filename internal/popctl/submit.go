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
	var file, name, template string
	var params []string
	var priority int32
	cmd := &cobra.Command{
		Use:   "submit -f FILE | --template NAME [-p key=value ...]",
		Short: "Submit an Agenda: a manifest, the original POP's Agenda JSON, or a template with arguments",
		Long: `Submit reads an Agenda manifest (YAML or JSON), or the original POP's Agenda JSON
({"operations": [...], "params": {...}}), validates it locally — every problem is printed
with its field path and nothing is sent — and creates it.

With --template NAME it creates an Agenda that names the AgendaTemplate (looked up in the
namespace, then in the operator's) with the arguments given by -p key=value: a value that
parses as JSON is that value (-p bitrates=[800,1600]), any other is a string (-p
source=s3://in/a.mov). The API server's webhook checks them against the template.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ag, err := agendaToSubmit(file, template, params, name)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("priority") {
				ag.Spec.Priority = priority
			}
			if err := checkLocally(g, ag, file); err != nil {
				return err
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
	cmd.Flags().StringVarP(&file, "filename", "f", "", "the Agenda file")
	cmd.Flags().StringVar(&template, "template", "", "the AgendaTemplate to instantiate instead of a file")
	cmd.Flags().StringArrayVarP(&params, "param", "p", nil, "a template argument, key=value (repeatable)")
	cmd.Flags().StringVar(&name, "name", "", "name for a POP Agenda JSON or templated Agenda without one (default: generated)")
	cmd.Flags().Int32Var(&priority, "priority", 0, "spec.priority")
	cmd.MarkFlagsOneRequired("filename", "template")
	cmd.MarkFlagsMutuallyExclusive("filename", "template")
	cmd.MarkFlagsMutuallyExclusive("filename", "param")
	return cmd
}

// agendaToSubmit reads the Agenda from its file, or builds it from a template and arguments.
func agendaToSubmit(file, template string, params []string, name string) (*popv1.Agenda, error) {
	if template != "" {
		return TemplateAgenda(template, params, name)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return ParseAgenda(raw, name)
}

// checkLocally prints every problem of the Agenda's graph and refuses to submit it; an
// Agenda naming a template has no graph yet (the webhook binds its arguments).
func checkLocally(g *globals, ag *popv1.Agenda, file string) error {
	if ag.Spec.Template != "" && len(ag.Spec.Operations) == 0 {
		return nil
	}
	_, errs := dag.Build(&ag.Spec)
	if len(errs) == 0 {
		return nil
	}
	for _, e := range errs {
		fmt.Fprintln(g.err, e.Error())
	}
	return fmt.Errorf("%d problem(s) in %s: nothing was submitted", len(errs), file)
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
