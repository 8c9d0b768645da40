package dynamo

// Manual sends: a delivery made pending under a send's claim, and the
// undoing of that when the send's message could not be queued.

import (
	"cmp"
	"context"
	"maps"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/awserr"
	"github.com/docproc/webhooks/internal/delivery"
)

// Reopen implements delivery.Resends with one UpdateItem of the delivery
// item, conditional on r.Prior: its state, attempts and, when pending,
// claim, and on no notice pending (one owed is never cleared unsent); or
// on no item when !r.Prior.Exists. It sets the attributes of a new item
// only where there are none. Over a pending delivery it notes the series
// it takes the delivery from (prior_claim, see delivery.Status): the
// prior claim, or, when that was a send that made no attempt, the series
// that send had noted. When the condition fails, the token read back
// tells whether this write's own first try committed (its answer lost)
// or the delivery moved on (ErrChanged).
func (s *Store) Reopen(ctx context.Context, r delivery.Reopen) error {
	m := r.Message
	op := "dynamodb UpdateItem reopen delivery " + m.DeliveryID
	token := newToken()
	u := newUpdate()
	u.claimed(m, m.Claim, r.ClaimedUntil, r.At, r.Expires, token)
	u.set("#state", &types.AttributeValueMemberS{Value: string(delivery.StatePending)})
	u.set("next_attempt_at", &types.AttributeValueMemberS{Value: stamp(r.At)})
	u.optionalN("attempt_limit", r.AttemptLimit)
	u.remove = append(u.remove, "reason")
	u.parking(m.DeliveryID, delivery.StatePending, r.ResendAt)
	cond := "attribute_not_exists(pk)"
	series := ""
	if p := r.Prior; p.Exists {
		// Not while an attempt is being made: it could not be recorded.
		cond = "#state = :prior_state AND attempts = :prior_attempts AND " +
			"(attribute_not_exists(notice_pending) OR notice_pending = :false) AND " +
			"(attribute_not_exists(begun) OR begun = attempts OR begun_until_ms < :now_ms)"
		u.values[":now_ms"] = number(r.At.UnixMilli())
		u.values[":prior_state"] = &types.AttributeValueMemberS{Value: string(p.State)}
		u.values[":prior_attempts"] = number(int64(p.Attempts))
		u.values[":false"] = &types.AttributeValueMemberBOOL{Value: false}
		if p.State == delivery.StatePending {
			cond += " AND claim = :read_claim"
			u.values[":read_claim"] = &types.AttributeValueMemberS{Value: p.Claim}
			series = cmp.Or(p.PriorClaim, p.Claim)
		}
	}
	u.optional("prior_claim", series)
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(endpointPK(m.WebhookID), deliverySK(m.DeliveryID)),
		UpdateExpression:          aws.String(u.expression()),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  deliveryNames(),
		ExpressionAttributeValues: u.values,
	})
	return s.conditionalOutcome(ctx, op, m, token, err)
}

// Restore implements delivery.Resends: while the delivery is still
// pending under r's claim at r.Prior's attempts, it deletes the item
// Reopen created, or puts back r.Prior. A failed condition means an
// attempt was made under the claim since (or another send took over):
// nothing to undo. Reopen leaves notice_pending as it was (none pending),
// so Restore has none to put back.
func (s *Store) Restore(ctx context.Context, r delivery.Reopen) error {
	m := r.Message
	k := key(endpointPK(m.WebhookID), deliverySK(m.DeliveryID))
	cond := aws.String("#state = :pending AND claim = :send_claim AND attempts = :prior_attempts")
	values := map[string]types.AttributeValue{
		":pending":        &types.AttributeValueMemberS{Value: string(delivery.StatePending)},
		":send_claim":     &types.AttributeValueMemberS{Value: m.Claim},
		":prior_attempts": number(int64(r.Prior.Attempts)),
	}
	names := map[string]string{"#state": "state"}
	var op string
	var err error
	if p := r.Prior; !p.Exists {
		op = "dynamodb DeleteItem reopened delivery " + m.DeliveryID
		_, err = s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: k,
			ConditionExpression: cond, ExpressionAttributeNames: names, ExpressionAttributeValues: values})
	} else {
		op = "dynamodb UpdateItem restore delivery " + m.DeliveryID
		u := newUpdate()
		u.set("#state", &types.AttributeValueMemberS{Value: string(p.State)})
		u.set("claim", &types.AttributeValueMemberS{Value: p.Claim})
		u.set("claimed_until_ms", number(p.ClaimedUntil.UnixMilli()))
		u.optional("prior_claim", p.PriorClaim)
		u.optional("next_attempt_at", stamp(p.NextAttemptAt))
		u.optionalN("attempt_limit", p.AttemptLimit)
		u.optional("reason", p.Reason)
		u.set("updated_at", &types.AttributeValueMemberS{Value: stamp(p.UpdatedAt)})
		if p.State != delivery.StatePending {
			// Finished again: nothing left to queue.
			u.parking(m.DeliveryID, p.State, time.Time{})
		}
		maps.Copy(u.values, values)
		_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.table), Key: k,
			UpdateExpression: aws.String(u.expression()), ConditionExpression: cond,
			ExpressionAttributeNames: names, ExpressionAttributeValues: u.values})
	}
	if conditionFailed(err) {
		return nil
	}
	return awserr.Classify(op, err)
}
