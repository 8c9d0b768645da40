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
		return webhook.Webhook{}, webhook.ErrNotFound
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

// writeToken is the attribute in which a conditional write of a webhook
// leaves its token. When a retry of the write fails its condition, the
// token read back tells whether it was the write's own first try that
// changed the item (its answer lost) rather than another request.
const writeToken = "write_token"

// Update implements webhook.Store with an UpdateItem of the settings,
// conditional on the version read.
func (s *Store) Update(ctx context.Context, w webhook.Webhook) error {
	events, err := attributevalue.Marshal(eventNames(w.Events))
	if err != nil {
		return fmt.Errorf("encode events: %w", err)
	}
	token := newToken()
	_, err = s.conditionalUpdate(ctx, w.Owner, w.ID, "dynamodb UpdateItem webhook "+w.ID, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table),
		Key:       key(TenantPK(w.Owner), WebhookSK(w.ID)),
		UpdateExpression: aws.String("SET #url = :url, events = :events, is_active = :active, " +
			"retry_enabled = :retry, max_retries = :max, updated_at = :updated, version = :next, #token = :token"),
		ConditionExpression:      aws.String(versionIs),
		ExpressionAttributeNames: map[string]string{"#url": "url", "#token": writeToken},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":url":     &types.AttributeValueMemberS{Value: w.URL},
			":events":  events,
			":active":  &types.AttributeValueMemberBOOL{Value: w.IsActive},
			":retry":   &types.AttributeValueMemberBOOL{Value: w.RetryEnabled},
			":max":     number(int64(w.MaxRetries)),
			":updated": &types.AttributeValueMemberS{Value: w.UpdatedAt.UTC().Format(time.RFC3339)},
			":next":    number(int64(w.Version)),
			":v":       number(int64(w.Version - 1)),
			":token":   &types.AttributeValueMemberS{Value: token},
		},
	}, writeToken, token, webhook.ErrStale, webhook.ErrStale)
	return err
}

// conditionalUpdate runs in, a conditional UpdateItem of owner's webhook id
// that returns the item as written. When the condition fails it reads the
// item back: a missing item is the error missing; one whose attribute attr
// holds token is this write's own success (its first try committed and its
// answer was lost), and is returned as such; anything else is other.
func (s *Store) conditionalUpdate(ctx context.Context, owner tenant.Tenant, id, op string, in *dynamodb.UpdateItemInput,
	attr, token string, missing, other error) (webhook.Webhook, error) {
	in.ReturnValues = types.ReturnValueAllNew
	out, err := s.client.UpdateItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		if err != nil {
			return webhook.Webhook{}, awsconf.Classify(op, err)
		}
		return decodeWebhook(out.Attributes)
	}
	item, err := s.webhookItem(ctx, owner, id)
	switch {
	case err != nil:
		return webhook.Webhook{}, err
	case item == nil:
		return webhook.Webhook{}, missing
	case attrS(item, attr) == token:
		return decodeWebhook(item)
	}
	return webhook.Webhook{}, other
}

// webhookItem reads a webhook's item as stored, nil if there is none.
func (s *Store) webhookItem(ctx context.Context, owner tenant.Tenant, id string) (map[string]types.AttributeValue, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(TenantPK(owner), WebhookSK(id)),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, awsconf.Classify("dynamodb GetItem webhook "+id, err)
	}
	return out.Item, nil
}

// attrS returns the string attribute name of item, or "".
func attrS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// Positions of the delete transaction's items.
const (
	deleteWebhookItem = iota
	deleteCheckItem
	deleteCounterItem
)

// Delete implements webhook.Store: one transaction deletes the item (if
// still at the version read), notes the secret check with this write's
// token and decrements the owner's count, so the count stays exact. A
// count that is missing or zero (damaged) cannot be decremented; the
// delete then runs again without it, leaving the count at zero.
func (s *Store) Delete(ctx context.Context, w webhook.Webhook, now time.Time) error {
	op := "dynamodb TransactWriteItems delete webhook " + w.ID
	withCount := true
	for {
		token := newToken()
		check, err := checkItem(webhook.SecretCheck{Kind: webhook.CheckOrphan, Owner: w.Owner, WebhookID: w.ID, At: now}, token)
		if err != nil {
			return err
		}
		items := []types.TransactWriteItem{
			deleteWebhookItem: {Delete: &types.Delete{
				TableName:                 aws.String(s.table),
				Key:                       key(TenantPK(w.Owner), WebhookSK(w.ID)),
				ConditionExpression:       aws.String(versionIs),
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": number(int64(w.Version))},
			}},
			deleteCheckItem: {Put: &types.Put{TableName: aws.String(s.table), Item: check}},
		}
		if withCount {
			items = append(items, types.TransactWriteItem{Update: &types.Update{
				TableName:                 aws.String(s.table),
				Key:                       key(TenantPK(w.Owner), CounterSK),
				UpdateExpression:          aws.String("ADD #n :minus"),
				ConditionExpression:       aws.String("#n > :zero"),
				ExpressionAttributeNames:  map[string]string{"#n": AttrWebhookCount},
				ExpressionAttributeValues: map[string]types.AttributeValue{":minus": number(-1), ":zero": number(0)},
			}})
		}
		codes, tce, err := s.transact(ctx, op, items, token)
		if codes == nil {
			return err
		}
		switch failed := "ConditionalCheckFailed"; {
		case codes[deleteWebhookItem] == failed:
			return s.deleteOutcome(ctx, w, now, token)
		case withCount && codes[deleteCounterItem] == failed:
			withCount = false // the count is damaged; delete without it
			continue
		}
		if err := cancelled(op, tce, codes); !errors.Is(err, errConflicted) {
			return err
		}
		return webhook.ErrStale // a concurrent write: read again and retry
	}
}

// deleteOutcome tells a delete whose condition failed whether its own
// first try committed (its check carries the token) or the webhook changed.
func (s *Store) deleteOutcome(ctx context.Context, w webhook.Webhook, now time.Time, token string) error {
	c := webhook.SecretCheck{Kind: webhook.CheckOrphan, Owner: w.Owner, WebhookID: w.ID, At: now}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: checkKey(c), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return awsconf.Classify("dynamodb GetItem secret check "+w.ID, err)
	}
	if attrS(out.Item, writeToken) == token {
		return nil
	}
	return webhook.ErrStale
}

// LockRotation implements webhook.Store.
func (s *Store) LockRotation(ctx context.Context, owner tenant.Tenant, id, token string, now, until time.Time) (webhook.Webhook, error) {
	return s.conditionalUpdate(ctx, owner, id, "dynamodb UpdateItem lock rotation "+id, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 key(TenantPK(owner), WebhookSK(id)),
		UpdateExpression:    aws.String("SET rotation_lock = :token, rotation_locked_until_ms = :until"),
		ConditionExpression: aws.String("attribute_exists(pk) AND (attribute_not_exists(rotation_locked_until_ms) OR rotation_locked_until_ms < :now)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":token": &types.AttributeValueMemberS{Value: token},
			":until": number(until.UnixMilli()),
			":now":   number(now.UnixMilli()),
		},
	}, "rotation_lock", token, webhook.ErrNotFound, webhook.ErrLocked)
}

// UnlockRotation implements webhook.Store. The unlock leaves the
// rotation's token as the item's write token, so that a retry of it can
// tell its own success from a lost lock.
func (s *Store) UnlockRotation(ctx context.Context, owner tenant.Tenant, id, token string, now time.Time, changed bool) (webhook.Webhook, error) {
	in := &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(TenantPK(owner), WebhookSK(id)),
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
