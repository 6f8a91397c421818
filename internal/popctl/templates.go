package popctl

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/templates"
)

// TemplateAgenda is the Agenda `popctl submit --template NAME -p key=value` creates: it
// names the template and gives the arguments; the controller resolves it. Without a name it
// is generated from the template's.
func TemplateAgenda(template string, params []string, name string) (*popv1.Agenda, error) {
	args, err := ParseArguments(params)
	if err != nil {
		return nil, err
	}
	ag := &popv1.Agenda{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if name == "" {
		ag.GenerateName = template + "-"
	}
	ag.Spec.Template = template
	if len(args) > 0 {
		raw, err := json.Marshal(args)
		if err != nil {
			return nil, err
		}
		ag.Spec.Arguments = &apiextensionsv1.JSON{Raw: raw}
	}
	return ag, nil
}

// ParseArguments reads -p key=value flags: a value that parses as JSON is that JSON value
// (42, true, [1,2], {"a":1}, "quoted"), any other is the string itself. A key given twice,
// an empty key or a flag without "=" is refused; at most templates.MaxParameters.
func ParseArguments(params []string) (map[string]json.RawMessage, error) {
	if len(params) > templates.MaxParameters {
		return nil, fmt.Errorf("%d -p flags; a template has at most %d parameters", len(params), templates.MaxParameters)
	}
	out := make(map[string]json.RawMessage, len(params))
	for _, p := range params {
		key, value, ok := strings.Cut(p, "=")
		switch {
		case !ok:
			return nil, fmt.Errorf("-p %q: want key=value", p)
		case key == "":
			return nil, fmt.Errorf("-p %q: the key is empty", p)
		case out[key] != nil:
			return nil, fmt.Errorf("-p %s: given twice", key)
		}
		if json.Valid([]byte(value)) && strings.TrimSpace(value) != "" {
			out[key] = json.RawMessage(value)
			continue
		}
		raw, err := json.Marshal(value)
		if err != nil {
			return nil, err
		}
		out[key] = raw
	}
	return out, nil
}

func templatesCmd(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "templates",
		Short: "List AgendaTemplates: their parameters and operations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ns, err := g.newClient(g)
			if err != nil {
				return err
			}
			var list popv1.AgendaTemplateList
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
				_, err := fmt.Fprintln(g.out, "No AgendaTemplates.")
				return err
			}
			return RenderTemplates(g.out, list.Items, time.Now())
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "list the AgendaTemplates of every namespace (the cluster-wide defaults are in the operator's)")
	return cmd
}

// RenderTemplates writes one line per template: its parameters (required ones marked *,
// defaults after =) and its number of operations.
func RenderTemplates(w io.Writer, items []popv1.AgendaTemplate, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE\tNAME\tPARAMETERS\tOPERATIONS\tAGE")
	for _, t := range items {
		params := make([]string, 0, len(t.Spec.Parameters))
		for _, p := range t.Spec.Parameters {
			s := p.Name
			if p.Type != "" {
				s += ":" + string(p.Type)
			}
			if p.Required {
				s += "*"
			}
			if p.Default != nil {
				s += "=" + string(p.Default.Raw)
			}
			params = append(params, s)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", t.Namespace, t.Name, orDash(strings.Join(params, " ")),
			len(t.Spec.Operations), age(now.Sub(t.CreationTimestamp.Time)))
	}
	return tw.Flush()
}
