package main

import (
	"flag"
	"testing"

	"github.com/google/go-cmp/cmp"
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
	if len(mo.Cache.DefaultNamespaces) != 2 {
		t.Errorf("want a cache restricted to 2 namespaces, got %v", mo.Cache.DefaultNamespaces)
	}
}
