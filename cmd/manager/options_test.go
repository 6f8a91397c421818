package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pop-operator/pop/internal/execution"
)

func TestWatchedNamespaces(t *testing.T) {
	cases := map[string]struct {
		flag string
		want []string
	}{
		"empty watches all":          {flag: "", want: nil},
		"one":                        {flag: "team-a", want: []string{"team-a"}},
		"blanks and duplicates drop": {flag: " team-a, ,team-b,team-a ", want: []string{"team-a", "team-b"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			o := defaultOptions()
			o.namespaces = tc.flag
			if diff := cmp.Diff(tc.want, o.watchedNamespaces()); diff != "" {
				t.Errorf("watchedNamespaces() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFlagsAndValidation(t *testing.T) {
	o := defaultOptions()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	o.bindFlags(fs)
	if err := fs.Parse([]string{"--kube-api-qps=50", "--kube-api-burst=100", "--namespaces=a,b", "--leader-elect"}); err != nil {
		t.Fatal(err)
	}
	if o.qps != 50 || o.burst != 100 || !o.leaderElect {
		t.Errorf("flags not applied: %+v", o)
	}
	if err := o.validate(); err != nil {
		t.Errorf("valid options refused: %v", err)
	}
	o.burst = 0
	if err := o.validate(); err == nil {
		t.Error("burst 0 accepted")
	}
	mo := managerOptions(o, nil)
	if mo.PprofBindAddress != "" {
		t.Errorf("pprof served by default on %q", mo.PprofBindAddress)
	}
	if o.pprofAddr = "127.0.0.1:6060"; managerOptions(o, nil).PprofBindAddress != o.pprofAddr {
		t.Error("--pprof-bind-address not applied")
	}
	if len(mo.Cache.DefaultNamespaces) != 2 {
		t.Errorf("want a cache restricted to 2 namespaces, got %v", mo.Cache.DefaultNamespaces)
	}
}

// TestLaunchWaitFlag: --launch-wait reaches the controllers' options, and a wait that is not
// positive is refused naming the flag.
func TestLaunchWaitFlag(t *testing.T) {
	o, err := parseArgs([]string{"--launch-wait=90s"}, io.Discard)
	if err != nil {
		t.Fatalf("--launch-wait=90s refused: %v", err)
	}
	if got := controllerOptions(o).LaunchWait; got != 90*time.Second {
		t.Errorf("controllers.Options.LaunchWait = %s, want 1m30s", got)
	}
	if got := controllerOptions(defaultOptions()).LaunchWait; got != execution.DefaultLaunchWait {
		t.Errorf("default LaunchWait = %s, want %s", got, execution.DefaultLaunchWait)
	}
	for _, bad := range []string{"--launch-wait=0s", "--launch-wait=-1m", "--launch-wait=500ms"} {
		_, err := parseArgs([]string{bad}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--launch-wait") {
			t.Errorf("parseArgs(%s) = %v, want an error naming --launch-wait", bad, err)
		}
	}
}
