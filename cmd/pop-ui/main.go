// Command pop-ui serves POP's web UI. In a cluster it acts as the user an authenticating
// proxy names (--auth=proxy, impersonation) or as the bearer token each request carries
// (--auth=token); with --local it acts with the user's own kubeconfig.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/go-logr/logr"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/ui"
)

// options are pop-ui's flags.
type options struct {
	addr, auth string
}

// parseArgs parses and checks the flags; the shipped Deployments' args are checked with it
// (shipped_test.go).
func parseArgs(args []string, out io.Writer) (options, error) {
	fs := flag.NewFlagSet("pop-ui", flag.ContinueOnError)
	fs.SetOutput(out)
	var o options
	fs.StringVar(&o.addr, "listen", ":8080", "address to serve the UI on")
	fs.StringVar(&o.auth, "auth", ui.AuthProxy, "who the user is: proxy (X-Remote-User/X-Remote-Group from an authenticating proxy, impersonated) or token (the request's bearer token, passed on)")
	local := fs.Bool("local", false, "act with the kubeconfig's own identity (for one user on their machine; bind to localhost)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	if *local {
		o.auth = ui.AuthLocal
	}
	if o.auth != ui.AuthProxy && o.auth != ui.AuthToken && o.auth != ui.AuthLocal {
		return o, fmt.Errorf("--auth=%s: proxy or token", o.auth)
	}
	if _, _, err := net.SplitHostPort(o.addr); err != nil {
		return o, fmt.Errorf("--listen=%s: %w", o.addr, err)
	}
	return o, nil
}

func main() {
	logf.SetLogger(logr.Discard())
	o, err := parseArgs(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err == nil {
		err = run(o.addr, o.auth)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pop-ui:", err)
		os.Exit(1)
	}
}

func run(addr, auth string) error {
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return err
	}
	src, err := ui.Clients(cfg, scheme(), auth)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: addr, Handler: ui.NewServer(src), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintln(os.Stderr, "pop-ui: serving on", addr, "auth", auth)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func scheme() *k8sruntime.Scheme {
	s := k8sruntime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = popv1.AddToScheme(s)
	return s
}
