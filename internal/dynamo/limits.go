package dynamo

// The rate limit of manual sends: a count per webhook and minute.

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

// Compile-time check that Store implements the manual sends' limiter.
var _ delivery.Limiter = (*Store)(nil)

// sendsSK is the sort key of a webhook's count of manual sends in the
// minute that starts at start.
func sendsSK(start time.Time) string { return fmt.Sprintf("SENDS#%d", start.Unix()/60) }

// sendsKept is how long a minute's count is kept once the minute is over.
const sendsKept = time.Hour

// sendsItem is a webhook's count of manual sends in one minute.
type sendsItem struct {
	Sent       int    `dynamodbav:"sent"`
	WriteToken string `dynamodbav:"write_token"`
}

// Take implements delivery.Limiter with fixed one-minute windows. An
// UpdateItem adds what it takes to the minute's count, conditional on the
// count it read (none at first); when the condition fails, the count read
// back says whether this write's own first try committed (its token), or
// another send took some meanwhile: then it takes from what is left.
func (s *Store) Take(ctx context.Context, _ tenant.Tenant, webhookID string, n int, now time.Time) (int, time.Time, error) {
	start := now.UTC().Truncate(time.Minute)
	end := start.Add(time.Minute)
	k := key(endpointPK(webhookID), sendsSK(start))
	op := "dynamodb UpdateItem sends of " + webhookID
	sent := 0 // the count as last read; 0 when there is none
	for try := 1; ; try++ {
		take := min(n, delivery.SendsPerMinute-sent)
		switch {
		case take <= 0:
			return 0, end, nil
		case try > batchTries:
			return 0, end, awserr.Unavailable(op, errors.New("the count keeps changing"))
		}
		token := newToken()
		in := &dynamodb.UpdateItemInput{
			TableName:                aws.String(s.table),
			Key:                      k,
			UpdateExpression:         aws.String("SET #type = :type, expires_at = :expires, write_token = :token ADD sent :take"),
			ConditionExpression:      aws.String("attribute_not_exists(sent)"),
			ExpressionAttributeNames: map[string]string{"#type": "type"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":type":    &types.AttributeValueMemberS{Value: "sends"},
				":expires": number(end.Add(sendsKept).Unix()),
				":token":   &types.AttributeValueMemberS{Value: token},
				":take":    number(int64(take)),
			},
		}
		if sent > 0 {
			in.ConditionExpression = aws.String("sent = :read")
			in.ExpressionAttributeValues[":read"] = number(int64(sent))
		}
		_, err := s.client.UpdateItem(ctx, in)
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			if err != nil {
				return 0, end, awserr.Classify(op, err)
			}
			return take, end, nil
		}
		read, err := s.sends(ctx, k)
		switch {
		case err != nil:
			return 0, end, err
		case read.WriteToken == token:
			return take, end, nil // this write's first try committed; its answer was lost
		}
		sent = read.Sent
	}
}

// sends reads a count of manual sends with a strongly consistent read; a
// missing one is zero.
func (s *Store) sends(ctx context.Context, k map[string]types.AttributeValue) (sendsItem, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return sendsItem{}, awserr.Classify("dynamodb GetItem sends", err)
	}
	var it sendsItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return sendsItem{}, fmt.Errorf("decode sends item: %w", err)
	}
	return it, nil
}
