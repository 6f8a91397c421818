package bridge

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// centersPartition holds the centers' heartbeats in the records' table. No customer can
// have this id: a customer id is a label value, which starts with a letter or digit.
const centersPartition = "_centers"

// heartbeatEvery is how often a center's intake writes its heartbeat.
const heartbeatEvery = 10 * time.Second

// Heartbeat is a center's last report: what `popctl bridge centers` lists.
type Heartbeat struct {
	Partition string `dynamodbav:"customerId"`
	Center    string `dynamodbav:"agendaId"`
	LastSeen  string `dynamodbav:"lastSeen"`
	// Capacity is the center's --bridge-max-pending; Pending its bridged Agendas waiting
	// for admission (or being created), as its flow control counts them.
	Capacity int `dynamodbav:"capacity"`
	Pending  int `dynamodbav:"pending"`
	Queues   int `dynamodbav:"queues"`
	// With capacity-aware pulling: InsightCapacity and Admitted sum the center's unpaused
	// Insights' capacity and admitted Agendas, and Bound is the pending Agendas its flow
	// control allows now (min of Capacity and the free capacity plus the headroom).
	CapacityAware   bool `dynamodbav:"capacityAware"`
	InsightCapacity int  `dynamodbav:"insightCapacity"`
	Admitted        int  `dynamodbav:"admitted"`
	Bound           int  `dynamodbav:"bound"`
}

// Beat writes a center's heartbeat.
func (s *Store) Beat(ctx context.Context, hb Heartbeat) error {
	hb.Partition = centersPartition
	item, err := attributevalue.MarshalMap(hb)
	if err != nil {
		return fmt.Errorf("encoding heartbeat: %w", err)
	}
	if _, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item}); err != nil {
		return fmt.Errorf("writing the heartbeat of center %s: %w", hb.Center, err)
	}
	return nil
}

// Centers reads every center's last heartbeat, by name.
func (s *Store) Centers(ctx context.Context) ([]Heartbeat, error) {
	var out []Heartbeat
	p := dynamodb.NewQueryPaginator(s.DB, &dynamodb.QueryInput{
		TableName: aws.String(s.Table), KeyConditionExpression: aws.String("customerId = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: centersPartition}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the centers' heartbeats: %w", err)
		}
		var hbs []Heartbeat
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &hbs); err != nil {
			return nil, err
		}
		out = append(out, hbs...)
	}
	return out, nil
}

// beat writes this center's heartbeat every heartbeatEvery until ctx ends.
func (i *Intake) beat(ctx context.Context) {
	for {
		hb := i.flow.heartbeat(i.Config.MaxPending)
		hb.Center, hb.LastSeen, hb.Queues = i.Config.Center, time.Now().UTC().Format(time.RFC3339), len(i.queues())
		if err := i.Store.Beat(ctx, hb); err != nil && ctx.Err() == nil {
			i.Log.Error(err, "Heartbeat not written")
		}
		sleep(ctx, heartbeatEvery)
		if ctx.Err() != nil {
			return
		}
	}
}

// heartbeat is flow control's part of the center's heartbeat.
func (f *flowControl) heartbeat(maxPending int) Heartbeat {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Heartbeat{Capacity: maxPending, Pending: f.used(), CapacityAware: f.aware,
		InsightCapacity: f.capacity, Admitted: f.admitted, Bound: f.bound(maxPending)}
}
