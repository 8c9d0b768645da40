package dynamo

// Parked deliveries (delivery.Parking): the deliveries-due index, where
// each pending delivery waits for its message to be queued again.

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/awserr"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// DueIndex is the sparse index of pending deliveries by when their
// message is queued again: a partition per parking shard
// (resend_shard = PARK#<nn>), by time (resend_at = <time>#<delivery id>).
const DueIndex = "deliveries-due"

// parkingShard is the deliveries-due partition of shard.
func parkingShard(shard int) string { return fmt.Sprintf("PARK#%02d", shard) }

// resendKey is a delivery's sort key in the deliveries-due index.
func resendKey(at time.Time, deliveryID string) string {
	return at.UTC().Format(eventTimeLayout) + "#" + deliveryID
}

// parking puts a pending delivery in the deliveries-due index at
// resendAt, and takes any other out.
func (u *update) parking(deliveryID string, state delivery.State, resendAt time.Time) {
	if state != delivery.StatePending || resendAt.IsZero() {
		u.remove = append(u.remove, "resend_shard", "resend_at")
		return
	}
	u.set("resend_shard", &types.AttributeValueMemberS{Value: parkingShard(delivery.ParkingShard(deliveryID))})
	u.set("resend_at", &types.AttributeValueMemberS{Value: resendKey(resendAt, deliveryID)})
}

// parkedItem is a delivery as the deliveries-due index projects it.
type parkedItem struct {
	DeliveryID    string `dynamodbav:"delivery_id"`
	EventID       string `dynamodbav:"event_id"`
	EventType     string `dynamodbav:"event_type"`
	EventTime     string `dynamodbav:"event_time"`
	WebhookID     string `dynamodbav:"webhook_id"`
	Account       string `dynamodbav:"account"`
	Mode          string `dynamodbav:"mode"`
	Test          bool   `dynamodbav:"test"`
	Claim         string `dynamodbav:"claim"`
	Attempts      int    `dynamodbav:"attempts"`
	NextAttemptAt string `dynamodbav:"next_attempt_at"`
	SeriesStart   string `dynamodbav:"series_start"`
	ResendAt      string `dynamodbav:"resend_at"`
}

// DueAttributes are the attributes the deliveries-due index projects
// besides its keys (template.yaml declares the same list).
var DueAttributes = []string{"delivery_id", "event_id", "event_type", "event_time", "webhook_id", "account", "mode",
	"test", "claim", "attempts", "next_attempt_at", "series_start"}

// decodeParked decodes a delivery item as the deliveries-due index
// projects it.
func decodeParked(item map[string]types.AttributeValue) (delivery.Parked, error) {
	var it parkedItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return delivery.Parked{}, fmt.Errorf("decode parked delivery: %w", err)
	}
	return it.parked()
}

// parked is the domain's view of a parked item.
func (it parkedItem) parked() (delivery.Parked, error) {
	times := make([]time.Time, 4)
	for i, v := range []string{it.EventTime, it.NextAttemptAt, it.SeriesStart, resendTime(it.ResendAt)} {
		t, err := parseStamp(v)
		if err != nil {
			return delivery.Parked{}, fmt.Errorf("decode parked delivery %s: %w", it.DeliveryID, err)
		}
		times[i] = t
	}
	return delivery.Parked{
		Message: delivery.Message{DeliveryID: it.DeliveryID, EventID: it.EventID, EventType: webhook.EventType(it.EventType),
			EventTime: times[0], Account: it.Account, Mode: tenant.Mode(it.Mode), WebhookID: it.WebhookID,
			Claim: it.Claim, Test: it.Test, SeriesStart: times[2]},
		Attempts: it.Attempts, NextAttemptAt: times[1], ResendAt: times[3],
	}, nil
}

// resendTime is the time part of a resend_at key.
func resendTime(k string) string {
	if len(k) < len(eventTimeLayout) {
		return k
	}
	return k[:len(eventTimeLayout)]
}

// Due implements delivery.Parking with a Query of shard's partition of
// the deliveries-due index, page after page up to limit (eventually
// consistent: a delivery parked a moment ago is found by the next sweep).
func (s *Store) Due(ctx context.Context, shard int, before time.Time, limit int) ([]delivery.Parked, error) {
	if limit <= 0 {
		return nil, nil
	}
	op := fmt.Sprintf("dynamodb Query %s shard %d", DueIndex, shard)
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		IndexName:              aws.String(DueIndex),
		KeyConditionExpression: aws.String("resend_shard = :shard AND resend_at < :before"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":shard":  &types.AttributeValueMemberS{Value: parkingShard(shard)},
			":before": &types.AttributeValueMemberS{Value: resendKey(before, "~")},
		},
	}
	return query(ctx, s.client, op, in, limit, decodeParked)
}

// Requeued implements delivery.Parking with one UpdateItem, conditional
// on the delivery still being pending with p's attempts and resend_at; a
// zero resendAt takes it out of the index.
func (s *Store) Requeued(ctx context.Context, p delivery.Parked, resendAt time.Time) error {
	m := p.Message
	u := newUpdate()
	if resendAt.IsZero() {
		u.remove = append(u.remove, "resend_shard", "resend_at")
	} else {
		u.set("resend_at", &types.AttributeValueMemberS{Value: resendKey(resendAt, m.DeliveryID)})
	}
	u.values[":attempts"] = number(int64(p.Attempts))
	u.values[":read"] = &types.AttributeValueMemberS{Value: resendKey(p.ResendAt, m.DeliveryID)}
	u.values[":pending"] = &types.AttributeValueMemberS{Value: string(delivery.StatePending)}
	expr := u.expression()
	if len(u.sets) == 0 {
		expr = "REMOVE resend_shard, resend_at"
	}
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(endpointPK(m.WebhookID), deliverySK(m.DeliveryID)),
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String("attempts = :attempts AND resend_at = :read AND #state = :pending"),
		ExpressionAttributeNames:  map[string]string{"#state": "state"},
		ExpressionAttributeValues: u.values,
	})
	if conditionFailed(err) {
		return nil // the delivery moved on
	}
	return awserr.Classify("dynamodb UpdateItem requeued delivery "+m.DeliveryID, err)
}
