package main

import (
	"fmt"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/pop-operator/pop/internal/scheduler"
)

// leaderLock is the leader-election Lease the manager takes, built here rather than by
// controller-runtime so that the scheduler's fence knows the identity it holds it under.
type leaderLock struct {
	lock     resourcelock.Interface
	key      types.NamespacedName
	identity string
}

// newLeaderLock builds the lock as controller-runtime would (Lease named
// --leader-election-id, identity hostname_uuid, a client timing out before renewals are
// due), in --leader-election-namespace or else the operator's namespace.
func newLeaderLock(cfg *rest.Config, o options) (*leaderLock, error) {
	host, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("naming the leader identity: %w", err)
	}
	ns := o.leaderElectionNamespace
	if ns == "" {
		ns = o.operatorNamespace
	}
	id := host + "_" + string(uuid.NewUUID())
	cfg = rest.AddUserAgent(rest.CopyConfig(cfg), "leader-election")
	cfg.Timeout = leaderRenewDeadline / 2
	core, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	coord, err := coordinationv1client.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, ns, o.leaderElectionID, core, coord,
		resourcelock.ResourceLockConfig{Identity: id})
	if err != nil {
		return nil, fmt.Errorf("building the leader lock: %w", err)
	}
	return &leaderLock{lock: lock, key: types.NamespacedName{Namespace: ns, Name: o.leaderElectionID}, identity: id}, nil
}

// leaderRenewDeadline is controller-runtime's default, which the manager keeps.
const leaderRenewDeadline = 10 * time.Second

// fence is the scheduler's guard for this lock. Its margin, a fifth of the lease, is the
// allowance for this process's clock running slow against a successor's over one lease.
func (l *leaderLock) fence(mgr ctrl.Manager, leaseDuration time.Duration) scheduler.Fence {
	return scheduler.LeaseFence{Reader: mgr.GetAPIReader(), Lease: l.key, Identity: l.identity, Margin: leaseDuration / 5}
}
