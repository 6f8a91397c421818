package bridge

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

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

// ErrTombstoned says that a record was not written because its key belongs to a deleted
// Agenda whose tombstone has not expired: the agendaId is taken.
var ErrTombstoned = errors.New("the agendaId belongs to a deleted Agenda (its tombstone has not expired)")

// Put writes a record unless the table holds the same or a newer version, or a live
// tombstone: the condition makes concurrent or out-of-order writers (two replicas, a
// retried old update) harmless, and keeps a deleted Agenda's key taken. It reports whether
// the record was written, and ErrTombstoned for a live tombstone.
func (s *Store) Put(ctx context.Context, r Record) (bool, error) {
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return false, fmt.Errorf("encoding record: %w", err)
	}
	values := map[string]types.AttributeValue{
		":v":   &types.AttributeValueMemberN{Value: strconv.FormatUint(r.Version, 10)},
		":now": epoch(time.Now()),
	}
	cond := "(attribute_not_exists(version) OR version < :v) AND " + notTombstoned + " AND " + heldCondition(r.Center, values)
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table), Item: item, ConditionExpression: aws.String(cond), ExpressionAttributeValues: values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		switch {
		case isTombstone(failed.Item, time.Now()):
			return false, ErrTombstoned
		case heldElsewhere(failed.Item, r.Center):
			return false, ErrClaimedElsewhere
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("writing record %s/%s: %w", r.CustomerID, r.AgendaID, err)
	}
	return true, nil
}

// notTombstoned holds for an item that is no tombstone, or one whose retention is over
// (DynamoDB's TTL deletes expired items only eventually). A tombstone kept forever has no
// expiresAt, so the comparison is false for it.
const notTombstoned = "(attribute_not_exists(deletedAt) OR expiresAt < :now)"

// PutTombstone replaces a deleted Agenda's record by its tombstone (only the claiming
// center's: r.Center), unless a live one is
// there already (an Agenda created for a taken key in a race, then deleted, must not
// extend or rewrite the first one's).
func (s *Store) PutTombstone(ctx context.Context, r Record) error {
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return fmt.Errorf("encoding tombstone: %w", err)
	}
	values := map[string]types.AttributeValue{":now": epoch(time.Now())}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table), Item: item, ConditionExpression: aws.String(notTombstoned + " AND " + heldCondition(r.Center, values)),
		ExpressionAttributeValues: values,
	})
	var failed *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &failed) {
		return fmt.Errorf("writing tombstone %s/%s: %w", r.CustomerID, r.AgendaID, err)
	}
	return nil
}

// Tombstoned says whether the key belongs to a deleted Agenda whose tombstone is live.
func (s *Store) Tombstoned(ctx context.Context, customer, agendaID string) (bool, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key(customer, agendaID), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("deletedAt, expiresAt"),
	})
	if err != nil {
		return false, fmt.Errorf("reading record %s/%s: %w", customer, agendaID, err)
	}
	return isTombstone(out.Item, time.Now()), nil
}

// Ping reads one key: the intake's health check that the table answers.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key("_health", "_health"), ProjectionExpression: aws.String("customerId"),
	})
	return err
}

// isTombstone reads deletedAt and expiresAt of an item.
func isTombstone(item map[string]types.AttributeValue, now time.Time) bool {
	var t struct {
		DeletedAt string `dynamodbav:"deletedAt"`
		ExpiresAt int64  `dynamodbav:"expiresAt"`
	}
	if item == nil || attributevalue.UnmarshalMap(item, &t) != nil || t.DeletedAt == "" {
		return false
	}
	return t.ExpiresAt == 0 || t.ExpiresAt >= now.Unix()
}

func epoch(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.Unix(), 10)}
}

// PutRejection records a refused message, unless a record for the key exists: a malformed
// resend of an accepted Agenda must not hide that Agenda's state. Only center's own claim
// made for this message (state Claimed, no Agenda's record yet) gives way; the rejection
// holds no claim, so a corrected resend may run in any center.
func (s *Store) PutRejection(ctx context.Context, r Record, center string) error {
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return fmt.Errorf("encoding record: %w", err)
	}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.Table),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(agendaId) OR (#state = :claimed AND center = :me)"),
		ExpressionAttributeNames: map[string]string{"#state": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":claimed": &types.AttributeValueMemberS{Value: StateClaimed}, ":me": &types.AttributeValueMemberS{Value: center},
		},
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

// Delete removes a record whatever its version (the Agenda it mirrored is gone), but not
// a live tombstone: an Agenda made with kubectl under a bridged Agenda's key must not free it.
// Only the claiming center deletes it.
func (s *Store) Delete(ctx context.Context, customer, agendaID, center string) error {
	values := map[string]types.AttributeValue{":now": epoch(time.Now())}
	_, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.Table), Key: key(customer, agendaID),
		ConditionExpression: aws.String(notTombstoned + " AND " + heldCondition(center, values)), ExpressionAttributeValues: values,
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return nil
	}
	return err
}

func key(customer, agendaID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"customerId": &types.AttributeValueMemberS{Value: customer},
		"agendaId":   &types.AttributeValueMemberS{Value: agendaID},
	}
}
