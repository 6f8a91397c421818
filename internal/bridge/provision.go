package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Resources names what one deployment of the bridge uses.
type Resources struct {
	IntakeQueue     string
	DeadLetterQueue string
	Table           string
	// MaxReceiveCount makes SQS itself move a message that failed this many times to the
	// dead-letter queue (a safety net: the bridge moves bad messages on its own at once).
	MaxReceiveCount int
}

// Provisioned are the URLs of the created queues.
type Provisioned struct {
	IntakeQueueURL     string
	DeadLetterQueueURL string
}

// Provision creates the table and the queues, leaving existing ones as they are.
func Provision(ctx context.Context, c *Clients, r Resources) (*Provisioned, error) {
	if err := createTable(ctx, c.DynamoDB, r.Table); err != nil {
		return nil, err
	}
	dlq, err := createQueue(ctx, c.SQS, r.DeadLetterQueue, map[string]string{"MessageRetentionPeriod": "1209600"})
	if err != nil {
		return nil, err
	}
	attrs, err := c.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(dlq), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return nil, fmt.Errorf("reading the dead-letter queue's ARN: %w", err)
	}
	if r.MaxReceiveCount < 1 {
		r.MaxReceiveCount = 10
	}
	redrive := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"%d"}`,
		attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)], r.MaxReceiveCount)
	intake, err := createQueue(ctx, c.SQS, r.IntakeQueue, map[string]string{"RedrivePolicy": redrive})
	if err != nil {
		return nil, err
	}
	return &Provisioned{IntakeQueueURL: intake, DeadLetterQueueURL: dlq}, nil
}

func createQueue(ctx context.Context, c *sqs.Client, name string, attrs map[string]string) (string, error) {
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		return "", fmt.Errorf("creating queue %s: %w", name, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

// createTable makes the Agenda table: key (customerId, agendaId), on-demand billing, TTL
// on expiresAt. The customerId partition key is what IAM's dynamodb:LeadingKeys confines
// each customer's readers to.
func createTable(ctx context.Context, db *dynamodb.Client, table string) error {
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("customerId"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("agendaId"), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String("customerId"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String("agendaId"), KeyType: ddbtypes.KeyTypeRange},
		},
		BillingMode: ddbtypes.BillingModePayPerRequest,
	})
	var inUse *ddbtypes.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("creating table %s: %w", table, err)
	}
	waiter := dynamodb.NewTableExistsWaiter(db)
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, 2*time.Minute); err != nil {
		return fmt.Errorf("waiting for table %s: %w", table, err)
	}
	_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(table),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String("expiresAt"), Enabled: aws.Bool(true)},
	})
	if err != nil && !isTTLAlreadyOn(err) {
		return fmt.Errorf("enabling TTL on %s: %w", table, err)
	}
	return nil
}

func isTTLAlreadyOn(err error) bool {
	var ve interface{ ErrorMessage() string }
	return errors.As(err, &ve) && containsAny(ve.ErrorMessage(), "already enabled", "TimeToLive is already")
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
