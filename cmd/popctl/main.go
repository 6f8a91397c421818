// Command popctl submits, watches, cancels and reruns POP Agendas, shows Insight queues and
// onboards customers. Installed as kubectl-pop it also works as `kubectl pop`.
package main

import (
	"os"

	"github.com/pop-operator/pop/internal/popctl"
)

func main() {
	if err := popctl.NewRoot(os.Stdout, os.Stderr).Execute(); err != nil {
		os.Exit(1)
	}
}
