package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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

// Create implements webhook.Store with one TransactWriteItems: the webhook
// (condition: no such item), the count increment (condition: below limit)
// and, with a claim, the completed idempotency record (condition: the claim
// still holds the key). The SDK sets a ClientRequestToken per call and keeps
// it across its own retries, so a retry after a lost response succeeds
// without writing twice, as long as it comes within DynamoDB's ten minutes.
func (s *Store) Create(ctx context.Context, w webhook.Webhook, limit int, claim *webhook.Claim) error {
	it := toWebhookItem(w)
	it.PK, it.SK = TenantPK(w.Owner), WebhookSK(w.ID)
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return fmt.Errorf("encode webhook %s: %w", w.ID, err)
	}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:           aws.String(s.table),
			Item:                item,
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		}},
		{Update: &types.Update{
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
	}}
	if claim != nil {
		complete, err := completeClaim(s.table, *claim, w)
		if err != nil {
			return err
		}
		in.TransactItems = append(in.TransactItems, complete)
	}
	for try := 1; ; try++ {
		_, err = s.client.TransactWriteItems(ctx, in)
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return awsconf.Classify("dynamodb TransactWriteItems webhook "+w.ID, err)
		}
		conflict, cerr := cancellation(tce, w.ID, limit)
		if !conflict {
			return cerr
		}
		if try == transactionTries {
			return apperr.Dependency("dynamodb TransactWriteItems webhook "+w.ID, err)
		}
		select {
		case <-ctx.Done():
			return awsconf.Classify("dynamodb TransactWriteItems webhook "+w.ID, ctx.Err())
		case <-time.After(time.Duration(try*(10+rand.IntN(40))) * time.Millisecond):
		}
	}
}

// cancellation maps the reasons of a cancelled create transaction, in the
// order of its items, to the domain's errors. conflict reports a
// cancellation caused only by concurrent transactions, which is worth a retry.
func cancellation(tce *types.TransactionCanceledException, id string, limit int) (conflict bool, err error) {
	codes := make([]string, 3)
	for i, r := range tce.CancellationReasons {
		if i < len(codes) {
			codes[i] = aws.ToString(r.Code)
		}
	}
	const failed = "ConditionalCheckFailed"
	switch {
	case codes[0] == failed:
		return false, &apperr.Error{Kind: apperr.Conflict, Code: "webhook_exists",
			Message: "a webhook with this id already exists", Cause: tce}
	case codes[1] == failed:
		return false, webhook.LimitReached(limit)
	case codes[2] == failed:
		return false, &apperr.Error{Kind: apperr.IdempotencyInProgress, Code: "idempotency_key_in_use",
			Param:   "Idempotency-Key",
			Message: "another request took over this Idempotency-Key; retry to get its result", Cause: tce}
	}
	for _, c := range codes {
		switch c {
		case "TransactionConflict":
			conflict = true
		case "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
			return false, apperr.Dependency("dynamodb TransactWriteItems webhook "+id, tce)
		}
	}
	if conflict {
		return true, apperr.Dependency("dynamodb TransactWriteItems webhook "+id, tce)
	}
	return false, fmt.Errorf("dynamodb TransactWriteItems webhook %s: %w", id, tce)
}

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
