package dynamo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"strconv"
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

// CounterSK is the sort key of an owner's webhook count item.
const CounterSK = "COUNTER"

// AttrWebhookCount holds an owner's number of webhooks on the count item.
const AttrWebhookCount = "webhook_count"

// webhookItem is the stored form of a webhook. Inside an idempotency record
// it is stored without its keys.
type webhookItem struct {
	PK           string   `dynamodbav:"pk,omitempty"`
	SK           string   `dynamodbav:"sk,omitempty"`
	Type         string   `dynamodbav:"type"`
	ID           string   `dynamodbav:"id"`
	Account      string   `dynamodbav:"account"`
	Mode         string   `dynamodbav:"mode"`
	URL          string   `dynamodbav:"url"`
	Events       []string `dynamodbav:"events"`
	IsActive     bool     `dynamodbav:"is_active"`
	RetryEnabled bool     `dynamodbav:"retry_enabled"`
	MaxRetries   int      `dynamodbav:"max_retries"`
	SecretARN    string   `dynamodbav:"secret_arn"`
	CreatedAt    string   `dynamodbav:"created_at"`
	UpdatedAt    string   `dynamodbav:"updated_at"`
	Version      int      `dynamodbav:"version"`
	// WriteToken is the token of the last conditional write (see writeToken).
	WriteToken string `dynamodbav:"write_token,omitempty"`
}

// toWebhookItem returns the stored form of a webhook, without keys.
func toWebhookItem(w webhook.Webhook) webhookItem {
	return webhookItem{
		Type: "webhook", ID: w.ID, Account: w.Owner.Account, Mode: string(w.Owner.Mode),
		URL: w.URL, Events: eventNames(w.Events), IsActive: w.IsActive, RetryEnabled: w.RetryEnabled,
		MaxRetries: w.MaxRetries, SecretARN: w.SecretRef,
		CreatedAt: w.CreatedAt.UTC().Format(time.RFC3339), UpdatedAt: w.UpdatedAt.UTC().Format(time.RFC3339),
		Version: w.Version,
	}
}

// eventNames returns events as strings.
func eventNames(events []webhook.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = string(e)
	}
	return out
}

// webhook decodes a stored webhook.
func (it webhookItem) webhook() (webhook.Webhook, error) {
	owner, err := tenant.New(it.Account, tenant.Mode(it.Mode))
	if err != nil {
		return webhook.Webhook{}, fmt.Errorf("decode webhook %s: %w", it.ID, err)
	}
	created, err := time.Parse(time.RFC3339, it.CreatedAt)
	if err != nil {
		return webhook.Webhook{}, fmt.Errorf("decode webhook %s created_at: %w", it.ID, err)
	}
	updated, err := time.Parse(time.RFC3339, it.UpdatedAt)
	if err != nil {
		return webhook.Webhook{}, fmt.Errorf("decode webhook %s updated_at: %w", it.ID, err)
	}
	events := make([]webhook.Event, len(it.Events))
	for i, e := range it.Events {
		events[i] = webhook.Event(e)
	}
	return webhook.Webhook{
		ID: it.ID, Owner: owner,
		Settings: webhook.Settings{URL: it.URL, Events: events, IsActive: it.IsActive,
			RetryEnabled: it.RetryEnabled, MaxRetries: it.MaxRetries},
		SecretRef: it.SecretARN, CreatedAt: created, UpdatedAt: updated, Version: it.Version,
	}, nil
}

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
			Key:                      key(TenantPK(w.Owner), CounterSK),
			UpdateExpression:         aws.String("ADD #n :one"),
			ConditionExpression:      aws.String("attribute_not_exists(#n) OR #n < :limit"),
			ExpressionAttributeNames: map[string]string{"#n": AttrWebhookCount},
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
		it.PK, it.SK, it.WriteToken = TenantPK(w.Owner), WebhookSK(w.ID), token
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
			return errors.Join(fmt.Errorf("%s: %w", op, webhook.ErrConflict), err)
		case codes[createCounterItem] == failed:
			return fmt.Errorf("%s: %w", op, webhook.ErrLimit)
		case claim != nil && codes[createClaimItem] == failed:
			return fmt.Errorf("%s: %w", op, webhook.ErrClaimLost)
		}
		if err := cancelled(op, tce, codes); !errors.Is(err, errConflicted) || try == transactionTries {
			return err
		}
		select {
		case <-ctx.Done():
			return awsconf.Classify(op, ctx.Err())
		case <-time.After(time.Duration(try*(10+mathrand.IntN(40))) * time.Millisecond):
		}
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
		return nil, nil, awsconf.Classify(op, err)
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
			return apperr.Dependency(op, tce)
		}
	}
	if conflict {
		return apperr.Dependency(op, errors.Join(errConflicted, tce))
	}
	return fmt.Errorf("%s: %w", op, tce)
}

// newToken returns a random token that identifies one write, for
// ClientRequestToken and for recognising the write's own earlier success.
func newToken() string { return rand.Text() }

// Exists implements webhook.Store with a strongly consistent read.
func (s *Store) Exists(ctx context.Context, owner tenant.Tenant, id string) (bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:            aws.String(s.table),
		Key:                  key(TenantPK(owner), WebhookSK(id)),
		ConsistentRead:       aws.Bool(true),
		ProjectionExpression: aws.String("pk"),
	})
	if err != nil {
		return false, awsconf.Classify("dynamodb GetItem webhook "+id, err)
	}
	return out.Item != nil, nil
}

// number is a DynamoDB number attribute.
func number(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
