package popctl

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/pop-operator/pop/internal/ui"
)

// uiCmd serves the web UI on localhost with the kubeconfig's own identity: the person running
// it sees and changes exactly what their RBAC allows.
func uiCmd(g *globals) *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Serve the web UI on localhost, acting with your kubeconfig",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := kubeClient(g)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			ns := g.namespace
			_, _ = fmt.Fprintf(cmd.OutOrStdout(), "POP UI on http://%s/#/agendas (namespace %q in the page's box; Ctrl-C stops)\n", ln.Addr(), ns)
			srv := &http.Server{Handler: ui.NewServer(ui.LocalClients{Client: c, RESTConfig: g.restConfig}), ReadHeaderTimeout: 10 * time.Second}
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "listen", "127.0.0.1:8080", "address to serve on (keep it on localhost: the UI acts with your credentials)")
	return cmd
}
