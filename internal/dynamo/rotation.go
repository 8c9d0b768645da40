package dynamo

// The rotation lock on a webhook item.

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// LockRotation implements webhook.Store with an UpdateItem that sets the
// lock (token, until), conditional on the webhook existing and no lock
// being unexpired at now. A failed condition is ErrNotFound for a missing
// webhook, this lock's own success when the item holds token (a retry
// whose first try committed), and ErrLocked otherwise.
func (s *Store) LockRotation(ctx context.Context, owner tenant.Tenant, id, token string, now, until time.Time) (webhook.Webhook, error) {
	return s.conditionalUpdate(ctx, owner, id, "dynamodb UpdateItem lock rotation "+id, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 key(tenantPK(owner), webhookSK(id)),
		UpdateExpression:    aws.String("SET rotation_lock = :token, rotation_locked_until_ms = :until"),
		ConditionExpression: aws.String("attribute_exists(pk) AND (attribute_not_exists(rotation_locked_until_ms) OR rotation_locked_until_ms < :now)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":token": &types.AttributeValueMemberS{Value: token},
			":until": number(until.UnixMilli()),
			":now":   number(now.UnixMilli()),
		},
	}, "rotation_lock", token, webhook.ErrNotFound, webhook.ErrLocked)
}

// UnlockRotation implements webhook.Store with an UpdateItem that
// removes the lock, conditional on token holding it; when changed (the
// secret was rotated), it also moves the version on and sets updated_at
// to now. The unlock leaves the rotation's token as the item's write
// token, so that a retry of it can tell its own success from a lost lock
// (ErrLockLost); a missing webhook is ErrNotFound.
func (s *Store) UnlockRotation(ctx context.Context, owner tenant.Tenant, id, token string, now time.Time, changed bool) (webhook.Webhook, error) {
	in := &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(tenantPK(owner), webhookSK(id)),
		UpdateExpression:          aws.String("SET #token = :token REMOVE rotation_lock, rotation_locked_until_ms"),
		ConditionExpression:       aws.String("rotation_lock = :token"),
		ExpressionAttributeNames:  map[string]string{"#token": writeToken},
		ExpressionAttributeValues: map[string]types.AttributeValue{":token": &types.AttributeValueMemberS{Value: token}},
	}
	if changed {
		in.UpdateExpression = aws.String("SET #token = :token, updated_at = :now, version = version + :one REMOVE rotation_lock, rotation_locked_until_ms")
		in.ExpressionAttributeValues[":now"] = &types.AttributeValueMemberS{Value: now.UTC().Truncate(time.Second).Format(time.RFC3339)}
		in.ExpressionAttributeValues[":one"] = number(1)
	}
	return s.conditionalUpdate(ctx, owner, id, "dynamodb UpdateItem unlock rotation "+id, in, writeToken, token,
		webhook.ErrNotFound, fmt.Errorf("unlock rotation of %s: %w", id, webhook.ErrLockLost))
}
