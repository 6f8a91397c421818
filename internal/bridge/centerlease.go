package bridge

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// centerLeasesPartition holds one liveness lease per center, apart from the heartbeats
// (which the intake of every replica overwrites whole). No customer id can be this one.
const centerLeasesPartition = "_leases"

// A center's claims hold while the center is alive: another center takes a lapsed claim
// over only when the claim's own lease (renewed by the mirror, which may fall behind under
// load) and the holder's center lease (renewed by one small write per center, every
// CenterLeaseEvery) have both passed. docs/centers.md.

// CenterLeaseEvery is how often a center renews its center lease for a claim lease of
// lease: a third of it, at most 10 s, so that two renewals may fail before fencing.
func CenterLeaseEvery(lease time.Duration) time.Duration {
	return min(lease/3, 10*time.Second)
}

// FenceAfter is how long a center goes without renewing its center lease before it fences
// itself (suspends the Agendas it claimed): half the lease, so that with a renewal attempt
// bounded by CenterLeaseEvery the fence is in place at most lease/2 + lease/3 after the
// last renewal — before any other center may take a claim over (lease after it).
func FenceAfter(lease time.Duration) time.Duration { return lease / 2 }

// RenewCenter writes center's lease: alive until until.
func (s *Store) RenewCenter(ctx context.Context, center string, until time.Time) error {
	_, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table),
		Item: map[string]types.AttributeValue{
			"customerId": &types.AttributeValueMemberS{Value: centerLeasesPartition},
			"agendaId":   &types.AttributeValueMemberS{Value: center},
			"aliveUntil": epoch(until),
		},
	})
	if err != nil {
		return fmt.Errorf("renewing the lease of center %s: %w", center, err)
	}
	return nil
}

// CenterAliveUntil reads center's lease; ok is false when the center never wrote one.
func (s *Store) CenterAliveUntil(ctx context.Context, center string) (until time.Time, ok bool, err error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key(centerLeasesPartition, center), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("reading the lease of center %s: %w", center, err)
	}
	n, found := out.Item["aliveUntil"].(*types.AttributeValueMemberN)
	if !found {
		return time.Time{}, false, nil
	}
	secs, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("decoding the lease of center %s: %w", center, err)
	}
	return time.Unix(secs, 0), true, nil
}

// holderAlive says whether a claim's center still renews its center lease at now.
func (s *Store) holderAlive(ctx context.Context, center string, now time.Time) (bool, error) {
	until, ok, err := s.CenterAliveUntil(ctx, center)
	if err != nil || !ok {
		return false, err
	}
	return until.Unix() >= now.Unix(), nil
}

// Stranded says whether a record's work is stranded, the client's rule for resending: not
// final, its claim's lease passed, and its center no longer alive. Work of a live center
// whose mirror is behind is not stranded: a resend would be dropped.
func (s *Store) Stranded(ctx context.Context, r *Record, now time.Time) (bool, error) {
	if r == nil || r.Center == "" || r.LeaseExpiresAt == 0 || r.LeaseExpiresAt >= now.Unix() {
		return false, nil
	}
	alive, err := s.holderAlive(ctx, r.Center, now)
	return !alive, err
}

// LiveCenters reads which centers' leases hold at now, by name.
func (s *Store) LiveCenters(ctx context.Context, now time.Time) (map[string]bool, error) {
	out, err := s.DB.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.Table), KeyConditionExpression: aws.String("customerId = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: centerLeasesPartition}},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("reading the centers' leases: %w", err)
	}
	live := map[string]bool{}
	for _, item := range out.Items {
		name, _ := item["agendaId"].(*types.AttributeValueMemberS)
		until, _ := item["aliveUntil"].(*types.AttributeValueMemberN)
		if name == nil || until == nil {
			continue
		}
		if secs, err := strconv.ParseInt(until.Value, 10, 64); err == nil && secs >= now.Unix() {
			live[name.Value] = true
		}
	}
	return live, nil
}

// livePeers counts the other centers whose lease holds at now.
func (s *Store) livePeers(ctx context.Context, center string, now time.Time) (int, error) {
	live, err := s.LiveCenters(ctx, now)
	if err != nil {
		return 0, err
	}
	delete(live, center)
	return len(live), nil
}

// IsStranded is Stranded with the live centers already read (LiveCenters), for a client
// judging many records at once.
func IsStranded(r *Record, now time.Time, live map[string]bool) bool {
	return r != nil && r.Center != "" && r.LeaseExpiresAt != 0 && r.LeaseExpiresAt < now.Unix() && !live[r.Center]
}
