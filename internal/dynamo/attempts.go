package dynamo

// Attempt items: the record of each attempt, written with the delivery's
// state (Save), and their read.

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/tenant"
)

// attemptsPrefix starts the sort keys of a delivery's attempts.
func attemptsPrefix(deliveryID string) string { return "ATTEMPT#" + deliveryID + "#" }

// attemptSK is an attempt's sort key: a delivery's attempts follow each
// other in order, after attemptsPrefix.
func attemptSK(deliveryID string, n int) string {
	return fmt.Sprintf("%s%03d", attemptsPrefix(deliveryID), n)
}

// attemptItem is the record of one attempt. It holds no secret and no
// signature.
type attemptItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	Type       string `dynamodbav:"type"`
	DeliveryID string `dynamodbav:"delivery_id"`
	EventID    string `dynamodbav:"event_id"`
	EventType  string `dynamodbav:"event_type"`
	WebhookID  string `dynamodbav:"webhook_id"`
	Account    string `dynamodbav:"account"`
	Mode       string `dynamodbav:"mode"`
	URL        string `dynamodbav:"url"`
	Number     int    `dynamodbav:"number"`
	At         string `dynamodbav:"at"`
	Status     int    `dynamodbav:"status,omitempty"`
	Error      string `dynamodbav:"error,omitempty"`
	DurationMS int64  `dynamodbav:"duration_ms"`
	Response   string `dynamodbav:"response,omitempty"`
	ExpiresAt  int64  `dynamodbav:"expires_at"`
}

// attemptPut writes r's attempt, once.
func (s *Store) attemptPut(r delivery.Record) (*types.Put, error) {
	a := r.Attempt
	item, err := attributevalue.MarshalMap(attemptItem{
		PK: endpointPK(a.WebhookID), SK: attemptSK(a.DeliveryID, a.Number), Type: "attempt",
		DeliveryID: a.DeliveryID, EventID: a.EventID, EventType: a.EventType, WebhookID: a.WebhookID,
		Account: a.Owner.Account, Mode: string(a.Owner.Mode), URL: a.URL, Number: a.Number,
		At: a.At.UTC().Format(time.RFC3339Nano), Status: a.Response.Status, Error: string(a.Response.Error),
		DurationMS: a.Response.Duration.Milliseconds(), Response: responsePrefix(a.Response.Body),
		ExpiresAt: r.Expires.Unix(),
	})
	if err != nil {
		return nil, fmt.Errorf("encode attempt %s #%d: %w", a.DeliveryID, a.Number, err)
	}
	return &types.Put{TableName: aws.String(s.table), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}, nil
}

// responsePrefix is the kept start of a response body as text: at most
// delivery.MaxResponsePrefix bytes, invalid UTF-8 replaced.
func responsePrefix(b []byte) string {
	b = b[:min(len(b), delivery.MaxResponsePrefix)]
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// Attempts implements delivery.History with a strongly consistent Query
// of the delivery's attempts, which sort in order.
func (s *Store) Attempts(ctx context.Context, webhookID, deliveryID string) ([]delivery.Attempt, error) {
	return query(ctx, s.client, "dynamodb Query attempts of "+deliveryID, &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ConsistentRead:         aws.Bool(true),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":     &types.AttributeValueMemberS{Value: endpointPK(webhookID)},
			":prefix": &types.AttributeValueMemberS{Value: attemptsPrefix(deliveryID)},
		},
	}, 0, decodeAttempt)
}

// decodeAttempt decodes a stored attempt item.
func decodeAttempt(item map[string]types.AttributeValue) (delivery.Attempt, error) {
	var it attemptItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return delivery.Attempt{}, fmt.Errorf("decode attempt item: %w", err)
	}
	return it.attempt()
}

// attempt is the domain's view of a stored attempt.
func (it attemptItem) attempt() (delivery.Attempt, error) {
	at, err := parseStamp(it.At)
	if err != nil {
		return delivery.Attempt{}, fmt.Errorf("decode attempt %s #%d at: %w", it.DeliveryID, it.Number, err)
	}
	return delivery.Attempt{DeliveryID: it.DeliveryID, EventID: it.EventID, EventType: it.EventType,
		Owner: tenant.Tenant{Account: it.Account, Mode: tenant.Mode(it.Mode)}, WebhookID: it.WebhookID,
		URL: it.URL, Number: it.Number, At: at,
		Response: delivery.Response{Status: it.Status, Error: delivery.ErrorClass(it.Error), Body: []byte(it.Response),
			Duration: time.Duration(it.DurationMS) * time.Millisecond}}, nil
}
