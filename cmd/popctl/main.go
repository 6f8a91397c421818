// Command popctl submits, watches, cancels and reruns POP Agendas, shows Insight queues and
// onboards customers. Installed as kubectl-pop it also works as `kubectl pop`.
package main

import (
	"os"

	"github.com/go-logr/logr"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/pop-operator/pop/internal/popctl"
)

func main() {
	// The client library logs nothing a CLI user needs; without a logger it warns instead.
	logf.SetLogger(logr.Discard())
	if err := popctl.NewRoot(os.Stdout, os.Stderr).Execute(); err != nil {
		os.Exit(1)
	}
}
