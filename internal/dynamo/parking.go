package dynamo

// Parked deliveries: the attempt begun before its POST, and the
// deliveries-due index, where each pending delivery waits for its message
// to be queued again (delivery.Parking).

import (
	"context"
	"errors"
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

// Compile-time check that Store implements the parking port.
var _ delivery.Parking = (*Store)(nil)

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

// Begin implements delivery.Store with one UpdateItem of the delivery
// item: it takes attempt b.Number (begun, begun_at, begun_until_ms) and
// the claim, conditional on the delivery being new (b.Prior 0) or pending
// at b.Prior attempts, owned by b.Claim or past its claim's lease, and
// with no attempt begun and unrecorded. When the condition fails, the
// token read back tells whether this write's own first try committed.
func (s *Store) Begin(ctx context.Context, b delivery.Begin) error {
	m := b.Message
	op := "dynamodb UpdateItem begin attempt of delivery " + m.DeliveryID
	token := newToken()
	u := newUpdate()
	u.message(m, true)
	u.setNew("attempts", number(0))
	u.setNew("#state", &types.AttributeValueMemberS{Value: string(delivery.StatePending)})
	u.setNew("created_at", &types.AttributeValueMemberS{Value: stamp(b.At)})
	u.set("updated_at", &types.AttributeValueMemberS{Value: stamp(b.At)})
	u.set("claim", &types.AttributeValueMemberS{Value: b.Claim})
	u.set("claimed_until_ms", number(b.ClaimedUntil.UnixMilli()))
	u.set("begun", number(int64(b.Number)))
	u.set("begun_at", &types.AttributeValueMemberS{Value: stamp(b.At)})
	u.set("begun_until_ms", number(b.Until.UnixMilli()))
	u.set("expires_at", number(b.Expires.Unix()))
	u.set(writeToken, &types.AttributeValueMemberS{Value: token})
	u.values[":prior"] = number(int64(b.Prior))
	u.values[":pending"] = &types.AttributeValueMemberS{Value: string(delivery.StatePending)}
	u.values[":now_ms"] = number(b.At.UnixMilli())
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(s.table),
		Key:              key(endpointPK(m.WebhookID), deliverySK(m.DeliveryID)),
		UpdateExpression: aws.String(u.expression()),
		ConditionExpression: aws.String("(attribute_not_exists(pk) AND :prior = :zero) OR " +
			"(attempts = :prior AND #state = :pending AND (claim = :claim OR claimed_until_ms < :now_ms) AND " +
			"(attribute_not_exists(begun) OR begun = attempts))"),
		ExpressionAttributeNames:  deliveryNames(),
		ExpressionAttributeValues: withZero(u.values),
	})
	return s.settle(ctx, op, m, token, err)
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

// Due implements delivery.Parking with one Query of shard's partition of
// the deliveries-due index (eventually consistent: a delivery parked a
// moment ago is found by the next sweep).
func (s *Store) Due(ctx context.Context, shard int, before time.Time, limit int) ([]delivery.Parked, error) {
	op := fmt.Sprintf("dynamodb Query %s shard %d", DueIndex, shard)
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		IndexName:              aws.String(DueIndex),
		KeyConditionExpression: aws.String("resend_shard = :shard AND resend_at < :before"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":shard":  &types.AttributeValueMemberS{Value: parkingShard(shard)},
			":before": &types.AttributeValueMemberS{Value: resendKey(before, "~")},
		},
		Limit: aws.Int32(int32(limit)),
	}
	var out []delivery.Parked
	for len(out) < limit {
		page, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, awserr.Classify(op, err)
		}
		for _, item := range page.Items {
			var it parkedItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return nil, fmt.Errorf("%s: %w", op, err)
			}
			p, err := it.parked()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", op, err)
			}
			out = append(out, p)
		}
		if len(page.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
		in.Limit = aws.Int32(int32(limit - len(out)))
	}
	return out, nil
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
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil // the delivery moved on
	}
	return awserr.Classify("dynamodb UpdateItem requeued delivery "+m.DeliveryID, err)
}

// settle is the outcome of a conditional write of m's delivery item that
// carried token and returned err: a failed condition is ErrChanged,
// unless the token read back says this write's own first try committed
// (the SDK retried it after a lost answer).
func (s *Store) settle(ctx context.Context, op string, m delivery.Message, token string, err error) error {
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return awserr.Classify(op, err)
	}
	d, err := s.deliveryState(ctx, m.WebhookID, m.DeliveryID)
	switch {
	case err != nil:
		return err
	case d.WriteToken == token:
		return nil
	}
	return fmt.Errorf("%s: %w", op, delivery.ErrChanged)
}
