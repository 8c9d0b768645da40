package dynamo

// The janitor's secret checks, one item per check in a partition per hour,
// and its checkpoint.

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/awserr"
	"github.com/docproc/webhooks/internal/janitor"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// checkPrefix starts the partition keys of the janitor's secret checks and
// of its checkpoint.
const checkPrefix = "CHECK#"

// checkRetention is how long a secret check is kept (DynamoDB TTL) if the
// janitor never clears it: a day longer than the janitor looks back.
const checkRetention = janitor.Lookback + 24*time.Hour

// checkHour is the layout of the hour a check's partition is named for.
const checkHour = "2006-01-02T15"

// checkPK returns the partition key of the checks whose time falls in the
// hour starting at hour.
func checkPK(hour time.Time) string { return checkPrefix + hour.UTC().Format(checkHour) }

// checkpointKey returns the key of the janitor's checkpoint item.
func checkpointKey() map[string]types.AttributeValue {
	return key(checkPrefix+"CHECKPOINT", "CHECKPOINT")
}

// secretCheckItem is the stored form of a webhook.SecretCheck.
type secretCheckItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Type      string `dynamodbav:"type"`
	Kind      string `dynamodbav:"kind"`
	Account   string `dynamodbav:"account"`
	Mode      string `dynamodbav:"mode"`
	WebhookID string `dynamodbav:"webhook_id"`
	At        string `dynamodbav:"at"`
	// WriteToken is set by a delete, so that a retry of it can recognise
	// its own earlier success.
	WriteToken string `dynamodbav:"write_token,omitempty"`
	ExpiresAt  int64  `dynamodbav:"expires_at"`
}

// checkKey is the primary key of c: partitioned by the hour of c.At.
func checkKey(c webhook.SecretCheck) map[string]types.AttributeValue {
	return key(checkPK(c.At), string(c.Kind)+"#"+c.WebhookID)
}

// checkItem is the stored form of c, with token as its write token.
func checkItem(c webhook.SecretCheck, token string) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(secretCheckItem{
		PK: checkPK(c.At), SK: string(c.Kind) + "#" + c.WebhookID, Type: "secret_check", Kind: string(c.Kind),
		Account: c.Owner.Account, Mode: string(c.Owner.Mode), WebhookID: c.WebhookID,
		At: c.At.UTC().Format(time.RFC3339Nano), WriteToken: token, ExpiresAt: c.At.Add(checkRetention).Unix(),
	})
	if err != nil {
		return nil, fmt.Errorf("encode secret check: %w", err)
	}
	return item, nil
}

// NoteCheck implements webhook.Store.
func (s *Store) NoteCheck(ctx context.Context, c webhook.SecretCheck) error {
	item, err := checkItem(c, "")
	if err != nil {
		return err
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item})
	return awserr.Classify("dynamodb PutItem secret check "+c.WebhookID, err)
}

// ClearCheck implements webhook.Store and janitor.Checks.
func (s *Store) ClearCheck(ctx context.Context, c webhook.SecretCheck) error {
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: checkKey(c)})
	return awserr.Classify("dynamodb DeleteItem secret check "+c.WebhookID, err)
}

// DueChecks implements janitor.Checks with a Query of the hour's partition.
func (s *Store) DueChecks(ctx context.Context, hour time.Time) ([]webhook.SecretCheck, error) {
	return query(ctx, s.client, "dynamodb Query secret checks", &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: checkPK(hour)}},
		ConsistentRead:            aws.Bool(true),
	}, 0, decodeCheck)
}

// decodeCheck decodes a stored secret check item.
func decodeCheck(item map[string]types.AttributeValue) (webhook.SecretCheck, error) {
	var it secretCheckItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return webhook.SecretCheck{}, fmt.Errorf("decode secret check: %w", err)
	}
	return it.check()
}

// check decodes a stored check.
func (it secretCheckItem) check() (webhook.SecretCheck, error) {
	owner, err := tenant.New(it.Account, tenant.Mode(it.Mode))
	if err != nil {
		return webhook.SecretCheck{}, fmt.Errorf("decode secret check %s: %w", it.SK, err)
	}
	at, err := time.Parse(time.RFC3339Nano, it.At)
	if err != nil {
		return webhook.SecretCheck{}, fmt.Errorf("decode secret check %s at: %w", it.SK, err)
	}
	return webhook.SecretCheck{Kind: webhook.CheckKind(it.Kind), Owner: owner, WebhookID: it.WebhookID, At: at}, nil
}

// Checkpoint implements janitor.Checks: the first hour the janitor has not
// finished, zero before its first run.
func (s *Store) Checkpoint(ctx context.Context) (time.Time, error) {
	item, err := s.getItem(ctx, "dynamodb GetItem janitor checkpoint", checkpointKey())
	if err != nil {
		return time.Time{}, err
	}
	next := attrS(item, "next_hour")
	if next == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, next)
	if err != nil {
		return time.Time{}, fmt.Errorf("decode janitor checkpoint %q: %w", next, err)
	}
	return t, nil
}

// SaveCheckpoint implements janitor.Checks.
func (s *Store) SaveCheckpoint(ctx context.Context, next time.Time) error {
	item := checkpointKey()
	item["type"] = &types.AttributeValueMemberS{Value: "janitor_checkpoint"}
	item["next_hour"] = &types.AttributeValueMemberS{Value: next.UTC().Format(time.RFC3339)}
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item})
	return awserr.Classify("dynamodb PutItem janitor checkpoint", err)
}
