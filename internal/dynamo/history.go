package dynamo

// Reads of what deliveries did, for the API: a webhook's deliveries newest
// first, one delivery, and the states of many.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/docproc/webhooks/internal/awserr"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/webhook"
)

// maxExamined bounds the delivery items one Deliveries call looks at, so
// that a filter few deliveries match does not read a whole partition.
const maxExamined = 1000

// summary is the domain's view of a stored delivery, as a list shows it.
func (d deliveryItem) summary() (delivery.Summary, error) {
	st, err := d.status()
	if err != nil {
		return delivery.Summary{}, err
	}
	sum := delivery.Summary{ID: d.DeliveryID, EventID: d.EventID, EventType: webhook.EventType(d.EventType), Test: d.Test,
		Status: st, LastStatus: d.LastStatus, LastError: delivery.ErrorClass(d.LastError)}
	for _, t := range []struct {
		name, in string
		out      *time.Time
	}{
		{"event_time", d.EventTime, &sum.EventTime}, {"last_attempt_at", d.LastAttemptAt, &sum.LastAttemptAt},
		{"created_at", d.CreatedAt, &sum.CreatedAt},
	} {
		if *t.out, err = parseStamp(t.in); err != nil {
			return delivery.Summary{}, fmt.Errorf("decode delivery %s %s: %w", d.DeliveryID, t.name, err)
		}
	}
	return sum, nil
}

// decodeSummary decodes a stored delivery item as a summary.
func decodeSummary(item map[string]types.AttributeValue) (delivery.Summary, error) {
	d, err := decodeDelivery(item)
	if err != nil {
		return delivery.Summary{}, err
	}
	return d.summary()
}

// ulidTime is the time part of a ULID of t: its first 10 characters,
// which order as the times do, to the millisecond.
func ulidTime(t time.Time) string {
	var id ulid.ULID
	_ = id.SetTime(ulid.Timestamp(t)) // only fails after the year 10889
	return id.String()[:10]
}

// deliveryRange returns the bounds (both included) of the sort keys of
// the deliveries of events of time in [since, until), to the millisecond
// (delivery ids are ULIDs of their event's time); zero times do not
// bound.
func deliveryRange(since, until time.Time) (lo, hi string) {
	lo, hi = deliverySK(""), deliverySK("~") // "~" sorts after every id
	if !since.IsZero() {
		lo = deliverySK(delivery.DeliveryIDPrefix + ulidTime(since))
	}
	if !until.IsZero() {
		// No id equals the bound: ids have more characters after it.
		hi = deliverySK(delivery.DeliveryIDPrefix + ulidTime(until))
	}
	return lo, hi
}

// Deliveries implements delivery.History with a Query of the webhook's
// delivery items, newest event first, bounded by f's times, its state and
// type filtered on, and expired items (not yet removed) left out. Pages
// are read until the page is full with one more match, or s.maxExamined
// items were looked at: then the page ends early with HasMore, and Next
// is the last item looked at.
func (s *Store) Deliveries(ctx context.Context, webhookID string, f delivery.Filter, limit int, startingAfter string) (delivery.Page, error) {
	in := s.deliveriesQuery(webhookID, f, startingAfter)
	if in == nil {
		return delivery.Page{}, nil
	}
	return s.deliveriesPage(ctx, "dynamodb Query deliveries of "+webhookID, in, f.State != "" || f.Type != "", limit)
}

// deliveriesQuery is the Query of webhookID's deliveries that match f,
// newest event first, after the delivery startingAfter when it is not "";
// nil when no delivery can match.
func (s *Store) deliveriesQuery(webhookID string, f delivery.Filter, startingAfter string) *dynamodb.QueryInput {
	lo, hi := deliveryRange(f.Since, f.Until)
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND sk BETWEEN :lo AND :hi"),
		ScanIndexForward:       aws.Bool(false),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":  &types.AttributeValueMemberS{Value: endpointPK(webhookID)},
			":now": number(s.now().Unix()),
		},
	}
	if startingAfter != "" {
		after := deliverySK(startingAfter)
		// Start at the cursor, which then is the range's bound: DynamoDB
		// refuses a start key outside the key condition.
		if after <= hi {
			hi, in.ExclusiveStartKey = after, key(endpointPK(webhookID), after)
		}
	}
	if lo >= hi {
		return nil // a cursor at lo or below, or an empty range (no id equals a bound)
	}
	in.ExpressionAttributeValues[":lo"] = &types.AttributeValueMemberS{Value: lo}
	in.ExpressionAttributeValues[":hi"] = &types.AttributeValueMemberS{Value: hi}
	filters := []string{"expires_at >= :now"}
	if f.State != "" {
		filters = append(filters, "#state = :state")
		in.ExpressionAttributeNames = map[string]string{"#state": "state"}
		in.ExpressionAttributeValues[":state"] = &types.AttributeValueMemberS{Value: string(f.State)}
	}
	if f.Type != "" {
		filters = append(filters, "event_type = :etype")
		in.ExpressionAttributeValues[":etype"] = &types.AttributeValueMemberS{Value: string(f.Type)}
	}
	in.FilterExpression = aws.String(strings.Join(filters, " AND "))
	return in
}

// deliveriesPage reads in's pages for a page of limit deliveries (see
// Deliveries); filtered says whether in filters on more than expiry. It
// pages by itself, not with query: its bound is on the items DynamoDB
// looks at (ScannedCount), and a page it ends early takes its cursor
// from the last one.
func (s *Store) deliveriesPage(ctx context.Context, op string, in *dynamodb.QueryInput, filtered bool, limit int) (delivery.Page, error) {
	var found []delivery.Summary
	examined := 0
	for {
		// DynamoDB applies Limit before the filter: it counts items looked
		// at. Without f's filters nearly every item is a match (but the
		// few expired ones), so no more are asked for than the page needs.
		want := s.maxExamined - examined
		if !filtered {
			want = min(want, limit+1-len(found))
		}
		in.Limit = aws.Int32(int32(want))
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return delivery.Page{}, awserr.Classify(op, err)
		}
		examined += int(out.ScannedCount)
		for _, item := range out.Items {
			if len(found) > limit {
				break
			}
			sum, err := decodeSummary(item)
			if err != nil {
				return delivery.Page{}, err
			}
			found = append(found, sum)
		}
		switch {
		case len(found) > limit:
			return delivery.Page{Deliveries: found[:limit], HasMore: true, Next: found[limit-1].ID}, nil
		case len(out.LastEvaluatedKey) == 0:
			return delivery.Page{Deliveries: found}, nil
		case examined >= s.maxExamined:
			last := strings.TrimPrefix(attrS(out.LastEvaluatedKey, attrSK), deliverySK(""))
			return delivery.Page{Deliveries: found, HasMore: true, Next: last}, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// Delivery implements delivery.History with a strongly consistent read of
// the delivery item. An expired delivery, not yet removed, is not found.
func (s *Store) Delivery(ctx context.Context, webhookID, deliveryID string) (delivery.Summary, error) {
	d, err := s.deliveryState(ctx, webhookID, deliveryID)
	switch {
	case err != nil:
		return delivery.Summary{}, err
	case d.DeliveryID == "":
		return delivery.Summary{}, fmt.Errorf("delivery %s: %w", deliveryID, delivery.ErrNotFound)
	case expired(d.ExpiresAt, s.now()):
		return delivery.Summary{}, fmt.Errorf("delivery %s expired: %w", deliveryID, delivery.ErrNotFound)
	}
	return d.summary()
}

// Statuses implements delivery.History with strongly consistent
// BatchGetItem calls.
func (s *Store) Statuses(ctx context.Context, webhookID string, ids []string) (map[string]delivery.Status, error) {
	seen := make(map[string]bool, len(ids))
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			keys = append(keys, key(endpointPK(webhookID), deliverySK(id)))
		}
	}
	out := make(map[string]delivery.Status, len(keys))
	err := s.batchGet(ctx, "dynamodb BatchGetItem deliveries of "+webhookID, keys, func(item map[string]types.AttributeValue) error {
		d, err := decodeDelivery(item)
		if err != nil {
			return err
		}
		out[d.DeliveryID], err = d.status()
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
