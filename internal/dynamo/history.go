package dynamo

// Reads of what deliveries did: a webhook's deliveries newest first, one
// delivery with its attempts, the states of many, and the stored events.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/docproc/webhooks/internal/awserr"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// Compile-time check that Store implements the delivery history port.
var _ delivery.History = (*Store)(nil)

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
	lo, hi := deliveryRange(f.Since, f.Until)
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND sk BETWEEN :lo AND :hi"),
		ScanIndexForward:       aws.Bool(false),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: endpointPK(webhookID)},
		},
	}
	if startingAfter != "" {
		after := deliverySK(startingAfter)
		if after <= lo {
			return delivery.Page{}, nil
		}
		// Start at the cursor, which then is the range's bound: DynamoDB
		// refuses a start key outside the key condition.
		if after <= hi {
			hi, in.ExclusiveStartKey = after, key(endpointPK(webhookID), after)
		}
	}
	if lo > hi {
		return delivery.Page{}, nil
	}
	in.ExpressionAttributeValues[":lo"] = &types.AttributeValueMemberS{Value: lo}
	in.ExpressionAttributeValues[":hi"] = &types.AttributeValueMemberS{Value: hi}
	in.ExpressionAttributeValues[":now"] = number(time.Now().Unix())
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
	var found []delivery.Summary
	examined := 0
	for {
		// DynamoDB applies Limit before the filter: it counts items looked
		// at. Without f's filters nearly every item is a match (but the
		// few expired ones), so no more are asked for than the page needs.
		want := s.maxExamined - examined
		if f.State == "" && f.Type == "" {
			want = min(want, limit+1-len(found))
		}
		in.Limit = aws.Int32(int32(want))
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return delivery.Page{}, awserr.Classify("dynamodb Query deliveries of "+webhookID, err)
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
		return delivery.Summary{}, fmt.Errorf("delivery %s: %w", deliveryID, webhook.ErrNotFound)
	case expired(d.ExpiresAt, time.Now()):
		return delivery.Summary{}, fmt.Errorf("delivery %s expired: %w", deliveryID, webhook.ErrNotFound)
	}
	return d.summary()
}

// Attempts implements delivery.History with a strongly consistent Query
// of the delivery's attempts, which sort in order.
func (s *Store) Attempts(ctx context.Context, webhookID, deliveryID string) ([]delivery.Attempt, error) {
	p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ConsistentRead:         aws.Bool(true),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":     &types.AttributeValueMemberS{Value: endpointPK(webhookID)},
			":prefix": &types.AttributeValueMemberS{Value: attemptsPrefix(deliveryID)},
		},
	})
	var attempts []delivery.Attempt
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, awserr.Classify("dynamodb Query attempts of "+deliveryID, err)
		}
		for _, item := range page.Items {
			var it attemptItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return nil, fmt.Errorf("decode attempt of %s: %w", deliveryID, err)
			}
			a, err := it.attempt()
			if err != nil {
				return nil, err
			}
			attempts = append(attempts, a)
		}
	}
	return attempts, nil
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

// expired reports whether an item's TTL, expiresAt (Unix seconds), has
// passed at now: DynamoDB removes expired items lazily, so one may still
// be read.
func expired(expiresAt int64, now time.Time) bool { return expiresAt < now.Unix() }

// event is the domain's view of a stored event.
func (it eventItem) event() (delivery.Event, error) {
	at, err := parseStamp(it.Time)
	if err != nil {
		return delivery.Event{}, fmt.Errorf("decode event %s time: %w", it.EventID, err)
	}
	return delivery.Event{ID: it.EventID, Type: webhook.EventType(it.EventType), Owner: tenant.Tenant{Account: it.Account, Mode: tenant.Mode(it.Mode)},
		Time: at, SourceID: it.SourceID, Payload: it.Payload, Test: it.Test}, nil
}

// decodeEvent decodes a stored event item.
func decodeEvent(item map[string]types.AttributeValue) (eventItem, error) {
	var it eventItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return eventItem{}, fmt.Errorf("decode event item: %w", err)
	}
	return it, nil
}

// Payloads implements delivery.History with BatchGetItem of the event
// items; expired events are left out.
func (s *Store) Payloads(ctx context.Context, owner tenant.Tenant, ids []string) (map[string][]byte, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	for _, id := range slices.Compact(slices.Sorted(slices.Values(ids))) {
		keys = append(keys, key(eventPK(owner, id), eventSK))
	}
	out := make(map[string][]byte, len(ids))
	now := time.Now()
	err := s.batchGet(ctx, "dynamodb BatchGetItem events of "+owner.String(), keys, func(item map[string]types.AttributeValue) error {
		it, err := decodeEvent(item)
		if err != nil {
			return err
		}
		if !expired(it.ExpiresAt, now) {
			out[it.EventID] = it.Payload
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Event implements delivery.History with a strongly consistent GetItem.
func (s *Store) Event(ctx context.Context, owner tenant.Tenant, id string) (delivery.Event, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(eventPK(owner, id), eventSK),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return delivery.Event{}, awserr.Classify("dynamodb GetItem event "+id, err)
	}
	if out.Item == nil {
		return delivery.Event{}, fmt.Errorf("event %s: %w", id, webhook.ErrNotFound)
	}
	it, err := decodeEvent(out.Item)
	switch {
	case err != nil:
		return delivery.Event{}, err
	case expired(it.ExpiresAt, time.Now()):
		return delivery.Event{}, fmt.Errorf("event %s expired: %w", id, webhook.ErrNotFound)
	}
	return it.event()
}

// The day partitions of the events-by-time index that Events looks at.
const (
	// day is one partition's span: a UTC day.
	day = 24 * time.Hour
	// eventsAhead is how far ahead of the clock Events looks for events:
	// EventBridge takes an event's time from its publisher, whose clock
	// may run ahead.
	eventsAhead = day
	// eventsKept is how far back Events looks: no recovery reaches back
	// further.
	eventsKept = delivery.RecoverWindow
)

// Events implements delivery.History with Queries of owner's day
// partitions of the events-by-time index, oldest first, from since's day
// to until's, until limit+1 events are found; the cursor (since,
// startingAfter) is an event of since's day. The index holds no payloads,
// so the events come without them. Expired events are passed over. Days
// more than eventsKept before now (no recovery reaches back further), or
// eventsAhead after it (no event is stamped later), are not looked at,
// which bounds the Queries of a wide window.
func (s *Store) Events(ctx context.Context, owner tenant.Tenant, since, until time.Time, startingAfter string, limit int) ([]delivery.Event, bool, error) {
	if !until.After(since) {
		return nil, false, nil
	}
	now := time.Now()
	first, last := since, until.Add(-time.Nanosecond)
	if oldest := now.Add(-eventsKept); first.Before(oldest) {
		first = oldest
	}
	if newest := now.Add(eventsAhead); last.After(newest) {
		last = newest
	}
	sinceDay := since.UTC().Truncate(day)
	var evs []delivery.Event
	// An event at since sorts after "<since>#", and one at until after
	// "<until>#": the bounds hold [since, until) in every partition.
	for d := first.UTC().Truncate(day); !d.After(last); d = d.Add(day) {
		pk := &types.AttributeValueMemberS{Value: eventsPK(owner, d)}
		in := &dynamodb.QueryInput{
			TableName:              aws.String(s.table),
			IndexName:              aws.String(indexEventsByTime),
			KeyConditionExpression: aws.String(attrEventsPK + " = :pk AND " + attrEventsSK + " BETWEEN :lo AND :hi"),
			// What the index projects (template.yaml): no payload.
			ProjectionExpression:     aws.String("event_id, event_type, #time, expires_at"),
			ExpressionAttributeNames: map[string]string{"#time": "time"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": pk,
				":lo": &types.AttributeValueMemberS{Value: eventsSK(since, "")},
				":hi": &types.AttributeValueMemberS{Value: eventsSK(until, "")},
			},
		}
		if startingAfter != "" && d.Equal(sinceDay) {
			in.ExclusiveStartKey = key(eventPK(owner, startingAfter), eventSK)
			in.ExclusiveStartKey[attrEventsPK] = pk
			in.ExclusiveStartKey[attrEventsSK] = &types.AttributeValueMemberS{Value: eventsSK(since, startingAfter)}
		}
		found, more, err := s.eventsOfDay(ctx, owner, in, limit, now, evs)
		if err != nil || more {
			return found, more, err
		}
		evs = found
	}
	return evs, false, nil
}

// eventsOfDay appends to evs the unexpired events in's Query of one day
// partition finds, up to limit in all; more says it found one more.
func (s *Store) eventsOfDay(ctx context.Context, owner tenant.Tenant, in *dynamodb.QueryInput, limit int, now time.Time, evs []delivery.Event) ([]delivery.Event, bool, error) {
	for {
		in.Limit = aws.Int32(int32(limit + 1 - len(evs)))
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, false, awserr.Classify("dynamodb Query events of "+owner.String(), err)
		}
		for _, item := range out.Items {
			it, err := decodeEvent(item)
			switch {
			case err != nil:
				return nil, false, err
			case expired(it.ExpiresAt, now):
				continue
			case len(evs) == limit:
				return evs, true, nil
			}
			ev, err := it.event()
			if err != nil {
				return nil, false, err
			}
			ev.Owner = owner // the index does not project account and mode
			evs = append(evs, ev)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return evs, false, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
