// Package popctl implements the popctl command line (cobra): every command is a small
// function over a controller-runtime client, and rendering is separate so that it is
// tested with golden files.
package popctl

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// globals are the flags every command shares.
type globals struct {
	kubeconfig string
	namespace  string
	output     string
	out, err   io.Writer
	restConfig *rest.Config
	// newClient is replaced by tests.
	newClient func(g *globals) (client.WithWatch, string, error)
}

// NewRoot builds the command tree.
func NewRoot(out, errOut io.Writer) *cobra.Command {
	return newRoot(&globals{out: out, err: errOut, newClient: kubeClient})
}

// NewRootForClient builds the command tree over a given client, with ns as the default
// namespace (tests, embedding).
func NewRootForClient(out, errOut io.Writer, c client.WithWatch, ns string) *cobra.Command {
	return newRoot(&globals{out: out, err: errOut, newClient: func(g *globals) (client.WithWatch, string, error) {
		if g.namespace != "" {
			return c, g.namespace, nil
		}
		return c, ns, nil
	}})
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "popctl",
		Short:         "Submit and watch POP Agendas, see Insight queues, onboard customers",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.SetOut(g.out)
	root.SetErr(g.err)
	root.PersistentFlags().StringVar(&g.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	root.PersistentFlags().StringVarP(&g.namespace, "namespace", "n", "", "namespace (default: the kubeconfig context's)")
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "table", "output format: table, json or yaml")
	root.AddCommand(submitCmd(g), getCmd(g), listCmd(g), watchCmd(g), cancelCmd(g), suspendCmd(g), resumeCmd(g), rerunCmd(g), queueCmd(g), customerCmd(g), logsCmd(g), bridgeCmd(g), uiCmd(g), templatesCmd(g))
	return root
}

// kubeClient loads the kubeconfig like kubectl and returns a client and the namespace.
func kubeClient(g *globals) (client.WithWatch, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = g.kubeconfig
	cfg := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	restCfg, err := cfg.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("loading kubeconfig: %w", err)
	}
	g.restConfig = restCfg
	ns := g.namespace
	if ns == "" {
		if ns, _, err = cfg.Namespace(); err != nil {
			return nil, "", err
		}
	}
	c, err := client.NewWithWatch(restCfg, client.Options{Scheme: Scheme()})
	return c, ns, err
}

// Scheme knows the built-in kinds and POP's.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = popv1.AddToScheme(s)
	return s
}

func isAlreadyExists(err error) bool { return apierrors.IsAlreadyExists(err) }
