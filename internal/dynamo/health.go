package dynamo

// The webhook health the deliverer writes, as part of its Save.

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/delivery"
)

// healthUpdate writes the change r makes to its webhook's health. It
// never creates a webhook item: the webhook must still exist. The count
// of failures in a row (failing_attempts) goes with failing_since: a
// start sets both, only where no streak is under way, and a count needs
// one; so an attempt that read the health before another changed it is
// recorded without its change (Save), which can only undercount, and a
// count a re-enable left behind (it removes failing_since) is set afresh.
// A disable also needs the webhook at the version r read, and moves the
// version on.
func (s *Store) healthUpdate(r delivery.Record) *types.Update {
	at := &types.AttributeValueMemberS{Value: r.At.UTC().Format(time.RFC3339Nano)}
	u := &types.Update{
		TableName:           aws.String(s.table),
		Key:                 key(tenantPK(r.Message.Owner()), webhookSK(r.Message.WebhookID)),
		ConditionExpression: aws.String("attribute_exists(pk)"),
	}
	switch r.Health {
	case delivery.StartFailing:
		u.UpdateExpression = aws.String("SET failing_since = :at, failing_attempts = :one")
		u.ConditionExpression = aws.String("attribute_exists(pk) AND attribute_not_exists(failing_since)")
		u.ExpressionAttributeValues = map[string]types.AttributeValue{":at": at, ":one": number(1)}
	case delivery.CountFailure:
		u.UpdateExpression = aws.String("ADD failing_attempts :one")
		u.ConditionExpression = aws.String("attribute_exists(pk) AND attribute_exists(failing_since)")
		u.ExpressionAttributeValues = map[string]types.AttributeValue{":one": number(1)}
	case delivery.Recover:
		u.UpdateExpression = aws.String("REMOVE failing_since, failing_attempts")
	case delivery.Disable:
		// The version moves on, so that an update that read the webhook
		// before it was disabled does not re-enable it unawares.
		u.UpdateExpression = aws.String("SET is_active = :false, disabled_reason = :reason, disabled_at = :at, " +
			"failing_since = if_not_exists(failing_since, :at), updated_at = :updated, version = version + :one")
		// Only the webhook as it was read: a change since (a new URL, a
		// re-enable) is not undone by an answer from before it.
		u.ConditionExpression = aws.String("attribute_exists(pk) AND version = :read")
		u.ExpressionAttributeValues = map[string]types.AttributeValue{
			":false":   &types.AttributeValueMemberBOOL{Value: false},
			":reason":  &types.AttributeValueMemberS{Value: r.Reason},
			":at":      at,
			":updated": &types.AttributeValueMemberS{Value: r.At.UTC().Format(time.RFC3339)},
			":one":     number(1),
			":read":    number(int64(r.WebhookVersion)),
		}
	}
	return u
}
