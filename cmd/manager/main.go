// Command manager runs the POP operator: the controllers for Agendas, Insights and
// HandlerTypes, the scheduler, and (with --bridge-* flags) the AWS bridge.
package main

import (
	"flag"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

func main() {
	opts := defaultOptions()
	zapOpts := zap.Options{Development: false}
	opts.bindFlags(flag.CommandLine)
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	if err := run(ctrl.SetupSignalHandler(), opts); err != nil {
		ctrl.Log.WithName("setup").Error(err, "Manager stopped with an error")
		os.Exit(1)
	}
}
