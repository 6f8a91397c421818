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

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// TakenOverAnnotation names the center whose lapsed claim this center took over before
// creating the Agenda (docs/centers.md).
const TakenOverAnnotation = "pop.dev/taken-over-from"

// StateClaimed is a record's state between a center's claim and its Agenda's first record.
const StateClaimed = "Claimed"

// ErrClaimedElsewhere says that another center holds the key's claim: this center must
// neither create its Agenda nor write its record.
var ErrClaimedElsewhere = errors.New("another center holds the claim on this agendaId")

// Claim is the outcome of claiming a key: Mine, or the Holder that has it; TakenOverFrom
// names the center whose lapsed claim this one replaced.
type Claim struct {
	Mine          bool
	Holder        string
	TakenOverFrom string
}

// claimItem is the part of a record a claim reads.
type claimItem struct {
	Center         string `dynamodbav:"center"`
	LeaseExpiresAt int64  `dynamodbav:"leaseExpiresAt"`
}

// Claim makes center the one center that runs (customer, agendaID), with a conditional
// write, before it creates the Agenda. A claim held by another center stands while its
// lease lasts or its center is alive (centerlease.go), and for good once its Agenda
// finished (its record then has no lease); a lapsed one of a center no longer alive is
// taken over. ErrTombstoned: the key belongs to a deleted Agenda.
func (s *Store) Claim(ctx context.Context, customer, agendaID, center string, lease time.Duration, now time.Time) (Claim, error) {
	c, err := s.claimOnce(ctx, customer, agendaID, center, lease, now)
	if errors.Is(err, errClaimRaced) { // read the winner's claim: a drop, or this center's own
		c, err = s.claimOnce(ctx, customer, agendaID, center, lease, now)
	}
	return c, err
}

// errClaimRaced says that the item changed between the read and the conditional write.
var errClaimRaced = errors.New("another delivery claimed it at the same time")

func (s *Store) claimOnce(ctx context.Context, customer, agendaID, center string, lease time.Duration, now time.Time) (Claim, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key(customer, agendaID), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("center, leaseExpiresAt, deletedAt, expiresAt"),
	})
	if err != nil {
		return Claim{}, fmt.Errorf("reading the claim on %s/%s: %w", customer, agendaID, err)
	}
	if isTombstone(out.Item, now) {
		return Claim{}, ErrTombstoned
	}
	var cur claimItem
	if out.Item != nil {
		if err := attributevalue.UnmarshalMap(out.Item, &cur); err != nil {
			return Claim{}, fmt.Errorf("decoding the claim on %s/%s: %w", customer, agendaID, err)
		}
	}
	switch {
	case cur.Center == center:
		return Claim{Mine: true}, nil
	case cur.Center != "" && (cur.LeaseExpiresAt == 0 || cur.LeaseExpiresAt >= now.Unix()):
		return Claim{Holder: cur.Center}, nil
	case cur.Center != "":
		// The claim's lease lapsed; its center may still be alive with its mirror behind.
		alive, err := s.holderAlive(ctx, cur.Center, now)
		if err != nil {
			return Claim{}, err
		}
		if alive {
			return Claim{Holder: cur.Center}, nil
		}
	}
	if err := s.takeClaim(ctx, customer, agendaID, center, cur, now.Add(lease)); err != nil {
		return Claim{}, err
	}
	return Claim{Mine: true, TakenOverFrom: cur.Center}, nil
}

// takeClaim writes the claim, on condition that the item still holds what Claim read: of
// two centers racing, one wins and the other's message stays in SQS for its next receive.
// A takeover removes the version: the new holder's resourceVersions come from another
// etcd and are compared only with each other.
func (s *Store) takeClaim(ctx context.Context, customer, agendaID, center string, cur claimItem, until time.Time) error {
	values := map[string]types.AttributeValue{
		":me": &types.AttributeValueMemberS{Value: center}, ":lease": epoch(until),
		":claimed": &types.AttributeValueMemberS{Value: StateClaimed}, ":now": epoch(time.Now()),
	}
	update := "SET center = :me, leaseExpiresAt = :lease, #state = if_not_exists(#state, :claimed)"
	cond := "attribute_not_exists(center) AND " + notTombstoned
	if cur.Center != "" {
		update += ", takenOverFrom = :old REMOVE version"
		cond = "center = :old AND leaseExpiresAt = :oldLease AND " + notTombstoned
		values[":old"] = &types.AttributeValueMemberS{Value: cur.Center}
		values[":oldLease"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(cur.LeaseExpiresAt, 10)}
	}
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: key(customer, agendaID), UpdateExpression: aws.String(update),
		ConditionExpression: aws.String(cond), ExpressionAttributeValues: values,
		ExpressionAttributeNames: map[string]string{"#state": "state"},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return fmt.Errorf("claiming %s/%s: %w", customer, agendaID, errClaimRaced)
	}
	if err != nil {
		return fmt.Errorf("claiming %s/%s: %w", customer, agendaID, err)
	}
	return nil
}

// Renew extends this center's lease on an unfinished Agenda's claim. ErrClaimedElsewhere:
// the lease lapsed and another center took the claim over.
func (s *Store) Renew(ctx context.Context, customer, agendaID, center string, until time.Time) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: key(customer, agendaID),
		UpdateExpression:    aws.String("SET leaseExpiresAt = :lease"),
		ConditionExpression: aws.String("center = :me"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":me": &types.AttributeValueMemberS{Value: center}, ":lease": epoch(until),
		},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return ErrClaimedElsewhere
	}
	if err != nil {
		return fmt.Errorf("renewing the claim on %s/%s: %w", customer, agendaID, err)
	}
	return nil
}

// heldBy marks a record as written by the claiming center: an unfinished Agenda's lease
// runs until now+lease; a finished one's record has none, so its claim stands for good.
func heldBy(r Record, ag *popv1.Agenda, center string, now time.Time, lease time.Duration) Record {
	r.Center = center
	r.TakenOverFrom = ag.Annotations[TakenOverAnnotation]
	r.LeaseExpiresAt = 0
	if !popv1.IsFinished(ag) {
		r.LeaseExpiresAt = now.Add(lease).Unix()
	}
	return r
}

// heldCondition is the part of a write's condition that keeps it to the claiming center
// (or to a key nobody claimed yet).
func heldCondition(center string, values map[string]types.AttributeValue) string {
	if center == "" {
		return "attribute_not_exists(center)"
	}
	values[":center"] = &types.AttributeValueMemberS{Value: center}
	return "(attribute_not_exists(center) OR center = :center)"
}

// heldElsewhere says whether an item's claim is another center's.
func heldElsewhere(item map[string]types.AttributeValue, center string) bool {
	var cur claimItem
	if item == nil || attributevalue.UnmarshalMap(item, &cur) != nil {
		return false
	}
	return cur.Center != "" && cur.Center != center
}
