package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/awsconf"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// Get implements webhook.Store.
func (s *Store) Get(ctx context.Context, owner tenant.Tenant, id string) (webhook.Webhook, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(TenantPK(owner), WebhookSK(id)),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return webhook.Webhook{}, awsconf.Classify("dynamodb GetItem webhook "+id, err)
	}
	if out.Item == nil {
		return webhook.Webhook{}, webhook.NotFound(id)
	}
	return decodeWebhook(out.Item)
}

// decodeWebhook decodes a stored webhook item.
func decodeWebhook(item map[string]types.AttributeValue) (webhook.Webhook, error) {
	var it webhookItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return webhook.Webhook{}, fmt.Errorf("decode webhook item: %w", err)
	}
	return it.webhook()
}

// List implements webhook.Store with one Query on the owner's partition,
// newest first (ids are ULIDs, so sort keys order by creation time). It
// asks for one more item than the page holds to learn whether more follow.
func (s *Store) List(ctx context.Context, owner tenant.Tenant, limit int, startingAfter string) (webhook.Page, error) {
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":     &types.AttributeValueMemberS{Value: TenantPK(owner)},
			":prefix": &types.AttributeValueMemberS{Value: WebhookSK("")},
		},
		ScanIndexForward: aws.Bool(false),
		Limit:            aws.Int32(int32(limit + 1)),
	}
	if startingAfter != "" {
		in.ExclusiveStartKey = key(TenantPK(owner), WebhookSK(startingAfter))
	}
	out, err := s.client.Query(ctx, in)
	if err != nil {
		return webhook.Page{}, awsconf.Classify("dynamodb Query webhooks", err)
	}
	page := webhook.Page{HasMore: len(out.Items) > limit}
	for i, item := range out.Items {
		if i == limit {
			break
		}
		w, err := decodeWebhook(item)
		if err != nil {
			return webhook.Page{}, err
		}
		page.Webhooks = append(page.Webhooks, w)
	}
	return page, nil
}

// versionIs is the condition that the webhook exists at version :v.
const versionIs = "attribute_exists(pk) AND version = :v"

// Update implements webhook.Store with an UpdateItem of the settings,
// conditional on the version read.
func (s *Store) Update(ctx context.Context, w webhook.Webhook) error {
	events, err := attributevalue.Marshal(eventNames(w.Events))
	if err != nil {
		return fmt.Errorf("encode events: %w", err)
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table),
		Key:       key(TenantPK(w.Owner), WebhookSK(w.ID)),
		UpdateExpression: aws.String("SET #url = :url, events = :events, is_active = :active, " +
			"retry_enabled = :retry, max_retries = :max, updated_at = :updated, version = :next"),
		ConditionExpression:      aws.String(versionIs),
		ExpressionAttributeNames: map[string]string{"#url": "url"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":url":     &types.AttributeValueMemberS{Value: w.URL},
			":events":  events,
			":active":  &types.AttributeValueMemberBOOL{Value: w.IsActive},
			":retry":   &types.AttributeValueMemberBOOL{Value: w.RetryEnabled},
			":max":     number(int64(w.MaxRetries)),
			":updated": &types.AttributeValueMemberS{Value: w.UpdatedAt.UTC().Format(time.RFC3339)},
			":next":    number(int64(w.Version)),
			":v":       number(int64(w.Version - 1)),
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return webhook.ErrStale
	}
	return awsconf.Classify("dynamodb UpdateItem webhook "+w.ID, err)
}

// Delete implements webhook.Store: one transaction deletes the item (if
// still at the version read) and decrements the owner's count, so the
// count stays exact.
func (s *Store) Delete(ctx context.Context, w webhook.Webhook) error {
	_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName:                 aws.String(s.table),
			Key:                       key(TenantPK(w.Owner), WebhookSK(w.ID)),
			ConditionExpression:       aws.String(versionIs),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": number(int64(w.Version))},
		}},
		{Update: &types.Update{
			TableName:                 aws.String(s.table),
			Key:                       key(TenantPK(w.Owner), CounterSK),
			UpdateExpression:          aws.String("ADD #n :minus"),
			ConditionExpression:       aws.String("#n > :zero"),
			ExpressionAttributeNames:  map[string]string{"#n": AttrWebhookCount},
			ExpressionAttributeValues: map[string]types.AttributeValue{":minus": number(-1), ":zero": number(0)},
		}},
	}})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "ConditionalCheckFailed", "TransactionConflict":
				return webhook.ErrStale
			}
		}
	}
	return awsconf.Classify("dynamodb TransactWriteItems delete webhook "+w.ID, err)
}

// LockRotation implements webhook.Store.
func (s *Store) LockRotation(ctx context.Context, owner tenant.Tenant, id, token string, now, until time.Time) (webhook.Webhook, error) {
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 key(TenantPK(owner), WebhookSK(id)),
		UpdateExpression:    aws.String("SET rotation_lock = :token, rotation_locked_until_ms = :until"),
		ConditionExpression: aws.String("attribute_exists(pk) AND (attribute_not_exists(rotation_locked_until_ms) OR rotation_locked_until_ms < :now)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":token": &types.AttributeValueMemberS{Value: token},
			":until": number(until.UnixMilli()),
			":now":   number(now.UnixMilli()),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if _, gerr := s.Get(ctx, owner, id); gerr != nil {
			return webhook.Webhook{}, gerr // NotFound, or the read failed
		}
		return webhook.Webhook{}, &apperr.Error{Kind: apperr.Conflict, Code: "rotation_in_progress",
			Message: "the webhook's secret is being rotated by another request; retry"}
	}
	if err != nil {
		return webhook.Webhook{}, awsconf.Classify("dynamodb UpdateItem lock rotation "+id, err)
	}
	return decodeWebhook(out.Attributes)
}

// UnlockRotation implements webhook.Store.
func (s *Store) UnlockRotation(ctx context.Context, owner tenant.Tenant, id, token string, now time.Time, changed bool) (webhook.Webhook, error) {
	in := &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(TenantPK(owner), WebhookSK(id)),
		UpdateExpression:          aws.String("REMOVE rotation_lock, rotation_locked_until_ms"),
		ConditionExpression:       aws.String("rotation_lock = :token"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":token": &types.AttributeValueMemberS{Value: token}},
		ReturnValues:              types.ReturnValueAllNew,
	}
	if changed {
		in.UpdateExpression = aws.String("SET updated_at = :now, version = version + :one REMOVE rotation_lock, rotation_locked_until_ms")
		in.ExpressionAttributeValues[":now"] = &types.AttributeValueMemberS{Value: now.UTC().Truncate(time.Second).Format(time.RFC3339)}
		in.ExpressionAttributeValues[":one"] = number(1)
	}
	out, err := s.client.UpdateItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return webhook.Webhook{}, fmt.Errorf("unlock rotation of %s: the lock expired and was taken", id)
	}
	if err != nil {
		return webhook.Webhook{}, awsconf.Classify("dynamodb UpdateItem unlock rotation "+id, err)
	}
	return decodeWebhook(out.Attributes)
}
