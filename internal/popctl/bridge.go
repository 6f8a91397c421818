package popctl

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/pop-operator/pop/internal/bridge"
)

func bridgeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "bridge", Short: "Set up the AWS bridge's queues and table"}
	cmd.AddCommand(bridgeInitCmd(g), bridgeCentersCmd(g))
	return cmd
}

func bridgeCentersCmd(g *globals) *cobra.Command {
	cfg := bridge.DefaultConfig()
	table := "pop-agendas"
	cmd := &cobra.Command{
		Use:   "centers",
		Short: "List the centers sharing the bridge's table, from their heartbeats",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			clients, err := bridge.NewClients(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			hbs, err := (&bridge.Store{DB: clients.DynamoDB, Table: table}).Centers(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "%-24s %-22s %8s %8s %6s %8s %11s %6s\n", "CENTER", "LAST SEEN", "CAPACITY", "PENDING", "QUEUES", "ADMITTED", "INSIGHT CAP", "BOUND")
			for _, hb := range hbs {
				fmt.Fprintf(g.out, "%-24s %-22s %8d %8d %6d %8s %11s %6s\n", hb.Center, hb.LastSeen, hb.Capacity, hb.Pending, hb.Queues,
					awareOnly(hb, hb.Admitted), awareOnly(hb, hb.InsightCapacity), awareOnly(hb, hb.Bound))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&table, "table", table, "name of the DynamoDB table")
	f.StringVar(&cfg.Region, "region", "", "AWS region (default: the credential chain's)")
	f.StringVar(&cfg.DynamoDBEndpoint, "dynamodb-endpoint", "", "DynamoDB endpoint override (emulators)")
	return cmd
}

func bridgeInitCmd(g *globals) *cobra.Command {
	cfg := bridge.DefaultConfig()
	res := bridge.Resources{IntakeQueue: "pop-intake", DeadLetterQueue: "pop-intake-dead-letters", Table: "pop-agendas", MaxReceiveCount: 10}
	customer := ""
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the intake queue, its dead-letter queue and the DynamoDB table (existing ones are kept)",
		Long: `init creates what one deployment of the bridge uses, with the AWS default credential chain:
the intake queue (with a redrive policy to the dead-letter queue as a safety net), the
dead-letter queue (14 days' retention), and the table keyed by (customerId, agendaId) with TTL
on expiresAt. It prints the manager flags that point the bridge at them.

The intake queue is shared unless --customer binds it to one customer: on a shared queue
every message must be signed with its customer's key; a customer queue (by default
pop-intake-<customer>; let only that customer send to it) is that customer's identity.
Run it once per customer queue; existing queues and the table are kept.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if customer != "" && !cmd.Flags().Changed("intake-queue") {
				res.IntakeQueue = "pop-intake-" + customer
			}
			clients, err := bridge.NewClients(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			p, err := bridge.Provision(cmd.Context(), clients, res)
			if err != nil {
				return err
			}
			if customer != "" {
				fmt.Fprintf(g.out, "--bridge-customer-queues=%s=%s\n", customer, p.IntakeQueueURL)
			} else {
				fmt.Fprintf(g.out, "--bridge-intake-queues=%s\n", p.IntakeQueueURL)
			}
			fmt.Fprintf(g.out, "--bridge-dead-letter-queue=%s\n--bridge-table=%s\n", p.DeadLetterQueueURL, res.Table)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&res.IntakeQueue, "intake-queue", res.IntakeQueue, "name of the intake queue")
	f.StringVar(&res.DeadLetterQueue, "dead-letter-queue", res.DeadLetterQueue, "name of the dead-letter queue")
	f.StringVar(&res.Table, "table", res.Table, "name of the DynamoDB table")
	f.StringVar(&customer, "customer", "", "bind the intake queue to this customer id (default queue name pop-intake-<customer>)")
	f.IntVar(&res.MaxReceiveCount, "max-receive-count", res.MaxReceiveCount, "receives after which SQS itself dead-letters a message")
	f.StringVar(&cfg.Region, "region", "", "AWS region (default: the credential chain's)")
	f.StringVar(&cfg.SQSEndpoint, "sqs-endpoint", "", "SQS endpoint override (emulators)")
	f.StringVar(&cfg.DynamoDBEndpoint, "dynamodb-endpoint", "", "DynamoDB endpoint override (emulators)")
	return cmd
}

// awareOnly shows a figure only a capacity-aware center reports; "-" for the others.
func awareOnly(hb bridge.Heartbeat, n int) string {
	if !hb.CapacityAware {
		return "-"
	}
	return strconv.Itoa(n)
}
