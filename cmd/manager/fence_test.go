package main

import (
	"testing"

	"k8s.io/client-go/rest"
)

// TestLeaderLockIdentityIsTheFences: the scheduler's fence checks the Lease for the very
// identity and Lease the manager's leader election holds.
func TestLeaderLockIdentityIsTheFences(t *testing.T) {
	o := defaultOptions()
	o.leaderElectionID, o.operatorNamespace = "pop-manager.pop.dev", "pop-system"
	l, err := newLeaderLock(&rest.Config{Host: "https://127.0.0.1:1"}, o)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.lock.Identity(); got != l.identity || got == "" {
		t.Errorf("lock identity %q, fence identity %q", got, l.identity)
	}
	if got := l.lock.Describe(); got != "pop-system/pop-manager.pop.dev" {
		t.Errorf("lock %s, want pop-system/pop-manager.pop.dev", got)
	}
	if l.key.Namespace != "pop-system" || l.key.Name != "pop-manager.pop.dev" {
		t.Errorf("fence reads %s", l.key)
	}
}
