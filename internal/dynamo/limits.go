package dynamo

// The rate limits of manual sends: a count per webhook and minute, and one
// per account, mode and minute.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/awserr"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/tenant"
)

// sendsSK is the sort key of a count of manual sends in the minute that
// starts at start.
func sendsSK(start time.Time) string { return fmt.Sprintf("SENDS#%d", start.Unix()/60) }

// sendsKept is how long a minute's count is kept once the minute is over.
const sendsKept = time.Hour

// sendsItem is a count of manual sends in one minute.
type sendsItem struct {
	Sent int `dynamodbav:"sent"`
}

// Take implements delivery.Limiter with fixed one-minute windows: the
// webhook's count (ENDPOINT#<id>, SENDS#<minute>) and owner's
// (ACCOUNT#<account>#<mode>, SENDS#<minute>). It takes from the webhook's
// count, then what that granted from owner's, and gives back to the
// webhook's what owner's did not grant. Each take is atomic, so any
// number of concurrent calls never grant more than the limits. A write
// whose answer was lost (the SDK tries it again) counts twice: the count
// then runs high for the rest of the minute, which refuses some sends
// early but never lets one more through.
func (s *Store) Take(ctx context.Context, owner tenant.Tenant, webhookID string, n int, now time.Time) (int, time.Time, error) {
	start := now.UTC().Truncate(time.Minute)
	end := start.Add(time.Minute)
	if n <= 0 {
		return 0, end, nil
	}
	hook := key(endpointPK(webhookID), sendsSK(start))
	taken, err := s.takeSends(ctx, hook, n, delivery.SendsPerMinute, end)
	if err != nil || taken == 0 {
		return 0, end, err
	}
	granted, err := s.takeSends(ctx, key(tenantPK(owner), sendsSK(start)), taken, delivery.AccountSendsPerMinute, end)
	if granted < taken {
		err = errors.Join(err, s.giveBackSends(ctx, hook, taken-granted))
	}
	if err != nil {
		return 0, end, err
	}
	return granted, end, nil
}

// GiveBack implements delivery.Limiter: it takes n off the webhook's
// count and owner's, of the minute of now, which Take added them to. Each
// give-back carries a token, kept in the count's item (returned): a try
// that finds its token there was committed by an earlier try whose
// answer was lost, so a give-back is made once and never lets more sends
// through than the limits.
func (s *Store) GiveBack(ctx context.Context, owner tenant.Tenant, webhookID string, n int, now time.Time) error {
	if n <= 0 {
		return nil
	}
	start := now.UTC().Truncate(time.Minute)
	token := newToken()
	return errors.Join(s.returnSends(ctx, key(endpointPK(webhookID), sendsSK(start)), n, token),
		s.returnSends(ctx, key(tenantPK(owner), sendsSK(start)), n, token))
}

// returnSends takes n off the count k once, under token (see GiveBack).
func (s *Store) returnSends(ctx context.Context, k map[string]types.AttributeValue, n int, token string) error {
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 k,
		UpdateExpression:    aws.String("ADD sent :n, returned :tokens"),
		ConditionExpression: aws.String("NOT contains(returned, :token)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":n":      number(int64(-n)),
			":tokens": &types.AttributeValueMemberSS{Value: []string{token}},
			":token":  &types.AttributeValueMemberS{Value: token},
		},
	})
	if conditionFailed(err) {
		return nil // an earlier try of this give-back committed
	}
	return awserr.Classify("dynamodb UpdateItem return sends "+attrS(k, attrPK), err)
}

// takeSends adds n to the count k of the minute that ends at end with
// one UpdateItem, unconditionally, and reads the new count back: what
// went over limit is not taken, and is given back. It returns how many it
// took.
func (s *Store) takeSends(ctx context.Context, k map[string]types.AttributeValue, n, limit int, end time.Time) (int, error) {
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      k,
		UpdateExpression:         aws.String("SET #type = :type, expires_at = :expires ADD sent :n"),
		ExpressionAttributeNames: map[string]string{"#type": "type"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":type":    &types.AttributeValueMemberS{Value: "sends"},
			":expires": number(end.Add(sendsKept).Unix()),
			":n":       number(int64(n)),
		},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, awserr.Classify("dynamodb UpdateItem sends "+attrS(k, attrPK), err)
	}
	var it sendsItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
		return 0, fmt.Errorf("decode sends of %s: %w", attrS(k, attrPK), err)
	}
	over := min(n, max(0, it.Sent-limit))
	if over > 0 {
		if err := s.giveBackSends(ctx, k, over); err != nil {
			return 0, err
		}
	}
	return n - over, nil
}

// giveBackSends takes n back off the count k.
func (s *Store) giveBackSends(ctx context.Context, k map[string]types.AttributeValue, n int) error {
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       k,
		UpdateExpression:          aws.String("ADD sent :n"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": number(int64(-n))},
	})
	return awserr.Classify("dynamodb UpdateItem give back sends "+attrS(k, attrPK), err)
}
