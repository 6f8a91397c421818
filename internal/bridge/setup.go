package bridge

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
)

// Setup adds the configured parts of the bridge to the manager: the status mirror when a
// table is set, the intake when queues are.
func Setup(ctx context.Context, mgr ctrl.Manager, c Config, concurrency int) error {
	if err := c.Validate(); err != nil {
		return err
	}
	clients, err := NewClients(ctx, c, mgr.GetLogger().WithName("bridge"))
	if err != nil {
		return err
	}
	store := &Store{DB: clients.DynamoDB, Table: c.Table}
	if c.Table != "" {
		log := mgr.GetLogger().WithName("bridge")
		if n, err := cancelLostClaims(ctx, mgr.GetAPIReader(), mgr.GetClient(), store, c.Center, log); err != nil {
			log.Error(err, "Checking this center's claims at start failed; the mirror cancels what it lost as it reconciles")
		} else if n > 0 {
			log.Info("Cancelled the Agendas whose claims other centers took over while this one was down", "cancelled", n)
		}
		m := &Mirror{Client: mgr.GetClient(), Store: store, Scope: c.Mirror, TTL: c.RecordTTL, TombstoneRetention: c.TombstoneRetention,
			Center: c.Center, Lease: c.ClaimLease}
		if err := m.SetupWithManager(mgr, concurrency); err != nil {
			return fmt.Errorf("setting up the DynamoDB mirror: %w", err)
		}
		keeper := &CenterKeeper{Client: mgr.GetClient(), Store: store, Center: c.Center, Lease: c.ClaimLease, Log: log.WithName("center-lease")}
		if err := mgr.Add(keeper); err != nil {
			return fmt.Errorf("adding the center lease keeper: %w", err)
		}
	}
	if c.intakeEnabled() {
		in := &Intake{Config: c, Clients: clients, Store: store, Client: mgr.GetClient(),
			APIReader: mgr.GetAPIReader(), Informers: mgr.GetCache(), Log: mgr.GetLogger().WithName("sqs-intake")}
		if err := mgr.Add(in); err != nil {
			return fmt.Errorf("adding the SQS intake: %w", err)
		}
	}
	return nil
}
