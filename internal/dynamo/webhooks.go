package dynamo

// Webhook items: their encoding and their reads (webhook_writes.go has
// the writes).

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/awserr"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

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
	// RateLimit is absent when the webhook has no rate limit, as on the
	// items written before the setting existed.
	RateLimit int    `dynamodbav:"rate_limit,omitempty"`
	SecretARN string `dynamodbav:"secret_arn"`
	CreatedAt string `dynamodbav:"created_at"`
	UpdatedAt string `dynamodbav:"updated_at"`
	Version   int    `dynamodbav:"version"`
	// WriteToken is the token of the last conditional write (see writeToken).
	WriteToken string `dynamodbav:"write_token,omitempty"`
	// FailingSince, FailingAttempts, DisabledReason and DisabledAt are the
	// webhook's delivery health, which the deliverer writes
	// (health.go). FailingAttempts counts only with FailingSince: a
	// re-enable removes FailingSince and leaves the count, which the next
	// failure sets afresh.
	FailingSince    string `dynamodbav:"failing_since,omitempty"`
	FailingAttempts int    `dynamodbav:"failing_attempts,omitempty"`
	DisabledReason  string `dynamodbav:"disabled_reason,omitempty"`
	DisabledAt      string `dynamodbav:"disabled_at,omitempty"`
	// RotationLock is the token of the rotation holding the webhook
	// (rotation.go); empty when none does.
	RotationLock string `dynamodbav:"rotation_lock,omitempty"`
}

// toWebhookItem returns the stored form of a webhook, without keys.
func toWebhookItem(w webhook.Webhook) webhookItem {
	return webhookItem{
		Type: "webhook", ID: w.ID, Account: w.Owner.Account, Mode: string(w.Owner.Mode),
		URL: w.URL, Events: eventNames(w.Events), IsActive: w.IsActive, RetryEnabled: w.RetryEnabled,
		MaxRetries: w.MaxRetries, RateLimit: w.RateLimit, SecretARN: w.SecretRef,
		CreatedAt: w.CreatedAt.UTC().Format(time.RFC3339), UpdatedAt: w.UpdatedAt.UTC().Format(time.RFC3339),
		Version: w.Version,
	}
}

// eventNames returns events as strings.
func eventNames(events []webhook.EventType) []string {
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
	events := make([]webhook.EventType, len(it.Events))
	for i, e := range it.Events {
		events[i] = webhook.EventType(e)
	}
	health := webhook.Health{DisabledReason: it.DisabledReason}
	if it.FailingSince != "" {
		health.FailingAttempts = it.FailingAttempts
	}
	for _, t := range []struct {
		name string
		in   string
		out  *time.Time
	}{{"failing_since", it.FailingSince, &health.FailingSince}, {"disabled_at", it.DisabledAt, &health.DisabledAt}} {
		if t.in == "" {
			continue
		}
		if *t.out, err = time.Parse(time.RFC3339Nano, t.in); err != nil {
			return webhook.Webhook{}, fmt.Errorf("decode webhook %s %s: %w", it.ID, t.name, err)
		}
	}
	return webhook.Webhook{
		ID: it.ID, Owner: owner,
		Settings: webhook.Settings{URL: it.URL, Events: events, IsActive: it.IsActive,
			RetryEnabled: it.RetryEnabled, MaxRetries: it.MaxRetries, RateLimit: it.RateLimit},
		SecretRef: it.SecretARN, CreatedAt: created, UpdatedAt: updated, Version: it.Version, Health: health,
		Rotating: it.RotationLock != "",
	}, nil
}

// Exists implements webhook.Store with a strongly consistent read.
func (s *Store) Exists(ctx context.Context, owner tenant.Tenant, id string) (bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:            aws.String(s.table),
		Key:                  key(tenantPK(owner), webhookSK(id)),
		ConsistentRead:       aws.Bool(true),
		ProjectionExpression: aws.String("pk"),
	})
	if err != nil {
		return false, awserr.Classify("dynamodb GetItem webhook "+id, err)
	}
	return out.Item != nil, nil
}

// Get implements webhook.Store with a strongly consistent read; a
// missing webhook is ErrNotFound.
func (s *Store) Get(ctx context.Context, owner tenant.Tenant, id string) (webhook.Webhook, error) {
	item, err := s.webhookItem(ctx, owner, id)
	if err != nil {
		return webhook.Webhook{}, err
	}
	if item == nil {
		return webhook.Webhook{}, webhook.ErrNotFound
	}
	return decodeWebhook(item)
}

// decodeWebhook decodes a stored webhook item.
func decodeWebhook(item map[string]types.AttributeValue) (webhook.Webhook, error) {
	var it webhookItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return webhook.Webhook{}, fmt.Errorf("decode webhook item: %w", err)
	}
	return it.webhook()
}

// webhooksQuery is a Query of owner's webhooks, oldest first.
func (s *Store) webhooksQuery(owner tenant.Tenant) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":     &types.AttributeValueMemberS{Value: tenantPK(owner)},
			":prefix": &types.AttributeValueMemberS{Value: webhookSK("")},
		},
	}
}

// List implements webhook.Store with one Query on the owner's partition,
// newest first (ids are ULIDs, so sort keys order by creation time). It
// asks for one more item than the page holds to learn whether more follow.
func (s *Store) List(ctx context.Context, owner tenant.Tenant, limit int, startingAfter string) (webhook.Page, error) {
	in := s.webhooksQuery(owner)
	in.ScanIndexForward, in.Limit = aws.Bool(false), aws.Int32(int32(limit+1))
	if startingAfter != "" {
		in.ExclusiveStartKey = key(tenantPK(owner), webhookSK(startingAfter))
	}
	out, err := s.client.Query(ctx, in)
	if err != nil {
		return webhook.Page{}, awserr.Classify("dynamodb Query webhooks", err)
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

// webhookItem reads a webhook's item as stored, nil if there is none.
func (s *Store) webhookItem(ctx context.Context, owner tenant.Tenant, id string) (map[string]types.AttributeValue, error) {
	return s.getItem(ctx, "dynamodb GetItem webhook "+id, key(tenantPK(owner), webhookSK(id)))
}

// Webhooks implements delivery.Subscribers: one Query of owner's
// partition for its webhooks (an account holds a bounded number), pages
// followed to the end.
func (s *Store) Webhooks(ctx context.Context, owner tenant.Tenant) ([]webhook.Webhook, error) {
	in := s.webhooksQuery(owner)
	in.ConsistentRead = aws.Bool(true)
	return query(ctx, s.client, "dynamodb Query webhooks of "+owner.String(), in, 0, decodeWebhook)
}
