package bridge

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Store writes Agenda records to a DynamoDB table.
type Store struct {
	DB    *dynamodb.Client
	Table string
}

// Put writes a record unless the table holds the same or a newer version: the condition
// makes concurrent or out-of-order writers (two replicas, a retried old update) harmless.
// It reports whether the record was written.
func (s *Store) Put(ctx context.Context, r Record) (bool, error) {
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return false, fmt.Errorf("encoding record: %w", err)
	}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.Table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(version) OR version < :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":v": &types.AttributeValueMemberN{Value: strconv.FormatUint(r.Version, 10)},
		},
	})
	var stale *types.ConditionalCheckFailedException
	if errors.As(err, &stale) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("writing record %s/%s: %w", r.CustomerID, r.AgendaID, err)
	}
	return true, nil
}

// PutRejection records a refused message, unless a record for the key exists: a malformed
// resend of an accepted Agenda must not hide that Agenda's state.
func (s *Store) PutRejection(ctx context.Context, r Record) error {
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return fmt.Errorf("encoding record: %w", err)
	}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.Table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(agendaId)"),
	})
	var exists *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("writing rejection %s/%s: %w", r.CustomerID, r.AgendaID, err)
	}
	return nil
}

// Get reads one record; nil when there is none.
func (s *Store) Get(ctx context.Context, customer, agendaID string) (*Record, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key(customer, agendaID), ConsistentRead: aws.Bool(true),
	})
	if err != nil || out.Item == nil {
		return nil, err
	}
	var r Record
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Delete removes a record whatever its version: the Agenda it mirrored is gone.
func (s *Store) Delete(ctx context.Context, customer, agendaID string) error {
	_, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Table), Key: key(customer, agendaID)})
	return err
}

func key(customer, agendaID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"customerId": &types.AttributeValueMemberS{Value: customer},
		"agendaId":   &types.AttributeValueMemberS{Value: agendaID},
	}
}
