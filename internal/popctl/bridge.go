package popctl

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pop-operator/pop/internal/bridge"
)

func bridgeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "bridge", Short: "Set up the AWS bridge's queues and table"}
	cmd.AddCommand(bridgeInitCmd(g))
	return cmd
}

func bridgeInitCmd(g *globals) *cobra.Command {
	cfg := bridge.DefaultConfig()
	res := bridge.Resources{IntakeQueue: "pop-intake", DeadLetterQueue: "pop-intake-dead-letters", Table: "pop-agendas", MaxReceiveCount: 10}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the intake queue, its dead-letter queue and the DynamoDB table (existing ones are kept)",
		Long: `init creates what one deployment of the bridge uses, with the AWS default credential chain:
the intake queue (with a redrive policy to the dead-letter queue as a safety net), the
dead-letter queue (14 days' retention), and the table keyed by (customerId, agendaId) with TTL
on expiresAt. It prints the manager flags that point the bridge at them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			clients, err := bridge.NewClients(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			p, err := bridge.Provision(cmd.Context(), clients, res)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "--bridge-intake-queues=%s\n--bridge-dead-letter-queue=%s\n--bridge-table=%s\n",
				p.IntakeQueueURL, p.DeadLetterQueueURL, res.Table)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&res.IntakeQueue, "intake-queue", res.IntakeQueue, "name of the intake queue")
	f.StringVar(&res.DeadLetterQueue, "dead-letter-queue", res.DeadLetterQueue, "name of the dead-letter queue")
	f.StringVar(&res.Table, "table", res.Table, "name of the DynamoDB table")
	f.IntVar(&res.MaxReceiveCount, "max-receive-count", res.MaxReceiveCount, "receives after which SQS itself dead-letters a message")
	f.StringVar(&cfg.Region, "region", "", "AWS region (default: the credential chain's)")
	f.StringVar(&cfg.SQSEndpoint, "sqs-endpoint", "", "SQS endpoint override (emulators)")
	f.StringVar(&cfg.DynamoDBEndpoint, "dynamodb-endpoint", "", "DynamoDB endpoint override (emulators)")
	return cmd
}
