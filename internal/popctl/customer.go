package popctl

import (
	"fmt"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

func customerCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "customer", Short: "Manage customers (one namespace each)"}
	var namespace string
	add := &cobra.Command{
		Use:   "add ID",
		Short: "Create a customer's namespace, labelled pop.dev/customer=ID, enforcing the restricted Pod Security Standard",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, err := CustomerNamespace(args[0], namespace)
			if err != nil {
				return err
			}
			c, _, err := g.newClient(g)
			if err != nil {
				return err
			}
			if done, err := printObject(g.out, g.output, ns); done {
				return err
			}
			apply := corev1ac.Namespace(ns.Name).WithLabels(ns.Labels)
			if err := c.Apply(cmd.Context(), apply, client.FieldOwner("popctl"), client.ForceOwnership); err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.out, "namespace/%s ready for customer %s\n", ns.Name, args[0])
			return err
		},
	}
	add.Flags().StringVar(&namespace, "namespace-name", "", "namespace name (default: the customer id)")
	cmd.AddCommand(add)
	return cmd
}

// CustomerNamespace is the namespace of a customer: its label makes the namespace the
// customer's (customers cannot edit namespaces, so they cannot forge it).
func CustomerNamespace(id, name string) (*corev1.Namespace, error) {
	if errs := validation.IsValidLabelValue(id); len(errs) > 0 || id == "" {
		return nil, fmt.Errorf("customer id %q is not a valid label value: %v", id, errs)
	}
	if name == "" {
		name = id
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return nil, fmt.Errorf("namespace name %q: %v", name, errs)
	}
	return &corev1.Namespace{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			popv1.CustomerLabel:                  id,
			"pod-security.kubernetes.io/enforce": "restricted",
			"pod-security.kubernetes.io/warn":    "restricted",
		}},
	}, nil
}
