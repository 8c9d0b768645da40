package dynamo

// The writes of webhook items: the create and delete transactions, which
// keep each owner's webhook count exact, and the version-conditional
// update.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/awserr"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// counterSK is the sort key of an owner's webhook count item.
const counterSK = "COUNTER"

// attrWebhookCount holds an owner's number of webhooks on the count item.
const attrWebhookCount = "webhook_count"

// Positions of the create transaction's items, which its cancellation
// reasons follow.
const (
	createWebhookItem = iota
	createCounterItem
	createCheckItem
	createClaimItem
)

// Create implements webhook.Store with one TransactWriteItems: the webhook
// (condition: no such item), the count increment (condition: below limit),
// the removal of the create's secret check and, with a claim, the completed
// idempotency record (condition: the claim still holds the key). Each try
// carries its own token, as ClientRequestToken and on the webhook item; the
// SDK keeps it across its own retries of that try. DynamoDB answers a retry
// after a lost response with success (within ten minutes); where it does
// not (an emulator), the retry fails on the webhook item, whose token shows
// that the try committed. A failed condition is ErrIDTaken, ErrLimit or
// ErrClaimLost. A transaction cancelled by a concurrent one is tried
// again, as a new transaction, up to transactionTries in all.
func (s *Store) Create(ctx context.Context, w webhook.Webhook, limit int, claim *webhook.Claim, secretSHA256 string) error {
	check := webhook.SecretCheck{Kind: webhook.CheckOrphan, Owner: w.Owner, WebhookID: w.ID, At: w.CreatedAt}
	items := []types.TransactWriteItem{
		createWebhookItem: {Put: &types.Put{
			TableName:           aws.String(s.table),
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		}},
		createCounterItem: {Update: &types.Update{
			TableName:                aws.String(s.table),
			Key:                      key(tenantPK(w.Owner), counterSK),
			UpdateExpression:         aws.String("ADD #n :one"),
			ConditionExpression:      aws.String("attribute_not_exists(#n) OR #n < :limit"),
			ExpressionAttributeNames: map[string]string{"#n": attrWebhookCount},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":one":   number(1),
				":limit": number(int64(limit)),
			},
		}},
		createCheckItem: {Delete: &types.Delete{TableName: aws.String(s.table), Key: checkKey(check)}},
	}
	if claim != nil {
		complete, err := completeClaim(s.table, *claim, webhook.IdempotencyRecord{Webhook: w, SecretSHA256: secretSHA256})
		if err != nil {
			return err
		}
		items = append(items, complete)
	}
	op := "dynamodb TransactWriteItems webhook " + w.ID
	for try := 1; ; try++ {
		token := newToken()
		it := toWebhookItem(w)
		it.PK, it.SK, it.WriteToken = tenantPK(w.Owner), webhookSK(w.ID), token
		item, err := attributevalue.MarshalMap(it)
		if err != nil {
			return fmt.Errorf("encode webhook %s: %w", w.ID, err)
		}
		items[createWebhookItem].Put.Item = item
		codes, tce, err := s.transact(ctx, op, items, token)
		if codes == nil {
			return err
		}
		switch failed := "ConditionalCheckFailed"; {
		case codes[createWebhookItem] == failed:
			stored, err := s.webhookItem(ctx, w.Owner, w.ID)
			if err == nil && attrS(stored, writeToken) == token {
				return nil // this try's first attempt committed; its answer was lost
			}
			return errors.Join(fmt.Errorf("%s: %w", op, webhook.ErrIDTaken), err)
		case codes[createCounterItem] == failed:
			return fmt.Errorf("%s: %w", op, webhook.ErrLimit)
		case claim != nil && codes[createClaimItem] == failed:
			return fmt.Errorf("%s: %w", op, webhook.ErrClaimLost)
		}
		if err := cancelled(op, tce, codes); !errors.Is(err, errConflicted) || try == transactionTries {
			return err
		}
		if err := pause(ctx, try); err != nil {
			return awserr.Classify(op, err)
		}
	}
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
// delete then runs again without it, leaving the count at zero. When the
// webhook's condition fails, the check's token tells whether this
// delete's own first try committed (its answer lost); otherwise, or when
// a concurrent transaction cancelled it, the webhook changed: ErrStale,
// for the caller to read it again.
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
				Key:                       key(tenantPK(w.Owner), webhookSK(w.ID)),
				ConditionExpression:       aws.String(versionIs),
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": number(int64(w.Version))},
			}},
			deleteCheckItem: {Put: &types.Put{TableName: aws.String(s.table), Item: check}},
		}
		if withCount {
			items = append(items, types.TransactWriteItem{Update: &types.Update{
				TableName:                 aws.String(s.table),
				Key:                       key(tenantPK(w.Owner), counterSK),
				UpdateExpression:          aws.String("ADD #n :minus"),
				ConditionExpression:       aws.String("#n > :zero"),
				ExpressionAttributeNames:  map[string]string{"#n": attrWebhookCount},
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
	item, err := s.getItem(ctx, "dynamodb GetItem secret check "+w.ID, checkKey(c))
	if err != nil {
		return err
	}
	if attrS(item, writeToken) == token {
		return nil
	}
	return webhook.ErrStale
}

// versionIs is the condition that the webhook exists at version :v.
const versionIs = "attribute_exists(pk) AND version = :v"

// Update implements webhook.Store with an UpdateItem of the settings,
// conditional on the version read (ErrStale otherwise). A webhook without
// a rate limit loses the attribute, so the item reads as one that never
// had a limit; an active webhook with no health (a re-enable) loses its
// failing streak and its disable.
func (s *Store) Update(ctx context.Context, w webhook.Webhook) error {
	events, err := attributevalue.Marshal(eventNames(w.Events))
	if err != nil {
		return fmt.Errorf("encode events: %w", err)
	}
	token := newToken()
	values := map[string]types.AttributeValue{
		":url":     &types.AttributeValueMemberS{Value: w.URL},
		":events":  events,
		":active":  &types.AttributeValueMemberBOOL{Value: w.IsActive},
		":retry":   &types.AttributeValueMemberBOOL{Value: w.RetryEnabled},
		":max":     number(int64(w.MaxRetries)),
		":updated": &types.AttributeValueMemberS{Value: w.UpdatedAt.UTC().Format(time.RFC3339)},
		":next":    number(int64(w.Version)),
		":v":       number(int64(w.Version - 1)),
		":token":   &types.AttributeValueMemberS{Value: token},
	}
	set := "SET #url = :url, events = :events, is_active = :active, " +
		"retry_enabled = :retry, max_retries = :max, updated_at = :updated, version = :next, #token = :token"
	var remove []string
	if w.RateLimit > 0 {
		set += ", rate_limit = :rate"
		values[":rate"] = number(int64(w.RateLimit))
	} else {
		remove = append(remove, "rate_limit")
	}
	if w.IsActive && w.Health == (webhook.Health{}) {
		// A re-enable (see webhook.Store): the webhook starts afresh.
		remove = append(remove, "failing_since", "disabled_reason", "disabled_at")
	}
	update := set
	if len(remove) > 0 {
		update += " REMOVE " + strings.Join(remove, ", ")
	}
	_, err = s.conditionalUpdate(ctx, w.Owner, w.ID, "dynamodb UpdateItem webhook "+w.ID, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(tenantPK(w.Owner), webhookSK(w.ID)),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String(versionIs),
		ExpressionAttributeNames:  map[string]string{"#url": "url", "#token": writeToken},
		ExpressionAttributeValues: values,
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
	if !conditionFailed(err) {
		if err != nil {
			return webhook.Webhook{}, awserr.Classify(op, err)
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
