package popctl

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/archive"
	"github.com/pop-operator/pop/internal/podspec"
)

func logsCmd(g *globals) *cobra.Command {
	var attempt int32
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs AGENDA OPERATION",
		Short: "Print the handler's log of an operation (its latest attempt, or --attempt N)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := g.newClient(g)
			if err != nil {
				return err
			}
			if g.restConfig == nil {
				return fmt.Errorf("logs needs a kubeconfig")
			}
			var stored popv1.Agenda
			if err := c.Get(cmd.Context(), types.NamespacedName{Namespace: ns, Name: args[0]}, &stored); err != nil {
				return err
			}
			ag, err := archive.WithOperations(cmd.Context(), c, &stored)
			if err != nil {
				return err
			}
			pod, err := podOf(ag, args[1], attempt)
			if err != nil {
				return err
			}
			cs, err := kubernetes.NewForConfig(g.restConfig)
			if err != nil {
				return err
			}
			stream, err := cs.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: podspec.ContainerName, Follow: follow}).Stream(cmd.Context())
			if err != nil {
				return fmt.Errorf("logs of Pod %s: %w", pod, err)
			}
			defer func() { _ = stream.Close() }()
			_, err = io.Copy(g.out, stream)
			return err
		},
	}
	cmd.Flags().Int32Var(&attempt, "attempt", 0, "attempt number (default: the latest)")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "stream the log while the handler runs")
	return cmd
}

// podOf names the Pod of an operation's attempt; Pods are named deterministically.
func podOf(ag *popv1.Agenda, op string, attempt int32) (string, error) {
	for _, o := range ag.Status.Operations {
		if o.Name != op {
			continue
		}
		if attempt == 0 {
			attempt = o.Attempts
		}
		if attempt < 1 || attempt > o.Attempts {
			return "", fmt.Errorf("operation %s has %d attempt(s); no attempt %s", op, o.Attempts, strconv.Itoa(int(attempt)))
		}
		if attempt == o.Attempts && o.Pod != "" {
			return o.Pod, nil // as recorded: also right for a Pod named before the naming changed
		}
		return podspec.Name(ag, op, attempt), nil
	}
	return "", fmt.Errorf("agenda %s has no operation %q", ag.Name, op)
}
