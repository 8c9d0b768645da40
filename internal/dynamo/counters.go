package dynamo

// The writes that keep each owner's webhook count exact: the create and
// delete transactions, and the retry of a transaction cancelled by another.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/awserr"
	"github.com/docproc/webhooks/internal/webhook"
)

// counterSK is the sort key of an owner's webhook count item.
const counterSK = "COUNTER"

// attrWebhookCount holds an owner's number of webhooks on the count item.
const attrWebhookCount = "webhook_count"

// transactionTries is how often a transaction cancelled only by a
// conflicting concurrent transaction is tried. DynamoDB cancels rather than
// queues transactions that touch the same item (here the count item), and
// the SDK does not retry a cancelled transaction.
const transactionTries = 4

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
// that the try committed. A try after a cancellation is a new transaction.
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

// pause waits before the next try of a call DynamoDB partly declined or
// cancelled: longer on each try, with jitter so that conflicting writers
// part, or until ctx is done.
func pause(ctx context.Context, try int) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(try*(10+mathrand.IntN(40))) * time.Millisecond):
		return nil
	}
}

// transact runs items as one TransactWriteItems with token as its
// ClientRequestToken. If the transaction was cancelled it returns the
// cancellation codes, in the order of the items ("None", or empty on an
// emulator, for an item that did not fail), and the cancellation;
// otherwise nil codes and the call's error, if any, classified.
func (s *Store) transact(ctx context.Context, op string, items []types.TransactWriteItem, token string) ([]string, *types.TransactionCanceledException, error) {
	_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: items, ClientRequestToken: aws.String(token),
	})
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil, nil, awserr.Classify(op, err)
	}
	codes := make([]string, len(items))
	for i, r := range tce.CancellationReasons {
		if i < len(items) {
			codes[i] = aws.ToString(r.Code)
		}
	}
	return codes, tce, nil
}

// errConflicted marks a transaction cancelled only because a concurrent
// transaction touched the same items; trying again is worth it.
var errConflicted = errors.New("cancelled by a concurrent transaction")

// cancelled maps the reasons of a cancelled transaction that are not a
// failed condition: throttling is a 503 (apperr Unavailable), a conflict
// with another transaction is errConflicted wrapped as a 503 (the caller
// may try again), anything else is an internal error.
func cancelled(op string, tce *types.TransactionCanceledException, codes []string) error {
	conflict := false
	for _, c := range codes {
		switch c {
		case "TransactionConflict":
			conflict = true
		case "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
			return awserr.Unavailable(op, tce)
		}
	}
	if conflict {
		return awserr.Unavailable(op, errors.Join(errConflicted, tce))
	}
	return fmt.Errorf("%s: %w", op, tce)
}

// newToken returns a random token that identifies one write, for
// ClientRequestToken and for recognising the write's own earlier success.
func newToken() string { return rand.Text() }

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
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: checkKey(c), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return awserr.Classify("dynamodb GetItem secret check "+w.ID, err)
	}
	if attrS(out.Item, writeToken) == token {
		return nil
	}
	return webhook.ErrStale
}
