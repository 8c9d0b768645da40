package dynamo

// Event items: the event log the fan-out keeps (delivery.EventLog), and
// the reads of events, one by one, their payloads, and by time through the
// events-by-time index.

import (
	"context"
	"fmt"
	"slices"
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

// The events-by-time index and its key attributes: a sparse global
// secondary index that lists an owner's events (not tests) by time, a
// partition per UTC day (events_pk = EVENTS#<account>#<mode>#<yyyy-mm-dd>,
// events_sk = <time>#<id>). It projects what Events returns: no payload.
// template.yaml declares the same.
const (
	indexEventsByTime = "events-by-time"
	attrEventsPK      = "events_pk"
	attrEventsSK      = "events_sk"
)

// eventPK is the partition of one event: events spread over partitions,
// and a second publish of an id finds the first.
func eventPK(owner tenant.Tenant, id string) string {
	return "EVENT#" + owner.Account + "#" + string(owner.Mode) + "#" + id
}

// eventSK is the sort key of an event item.
const eventSK = "EVENT"

// eventsPK is the events-by-time index partition that lists owner's
// events (not tests) of the UTC day of at, by time. A partition per day
// spreads an account's writes and bounds each partition's size.
func eventsPK(owner tenant.Tenant, at time.Time) string {
	return "EVENTS#" + owner.Account + "#" + string(owner.Mode) + "#" + at.UTC().Format(time.DateOnly)
}

// eventTimeLayout writes times in the indexes' sort keys (events-by-time,
// and deliveries-due's resend_at) at a fixed width (UTC, nine fractional
// digits), so that their lexical order is time order.
const eventTimeLayout = "2006-01-02T15:04:05.000000000Z"

// eventsSK is an event's sort key in the events-by-time index: its time,
// then its id.
func eventsSK(at time.Time, id string) string { return at.UTC().Format(eventTimeLayout) + "#" + id }

// eventItem is a stored event. It keeps the payload sent, so that
// deliveries can be sent again later. An event that is not a test is also
// in the events-by-time index (events_pk, events_sk), without its payload.
type eventItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Type      string `dynamodbav:"type"`
	EventID   string `dynamodbav:"event_id"`
	EventType string `dynamodbav:"event_type"`
	Account   string `dynamodbav:"account"`
	Mode      string `dynamodbav:"mode"`
	Time      string `dynamodbav:"time"`
	SourceID  string `dynamodbav:"source_id"`
	Payload   []byte `dynamodbav:"payload"`
	ExpiresAt int64  `dynamodbav:"expires_at"`
	Test      bool   `dynamodbav:"test,omitempty"`
	EventsPK  string `dynamodbav:"events_pk,omitempty"`
	EventsSK  string `dynamodbav:"events_sk,omitempty"`
}

// Keep implements delivery.EventLog with a conditional PutItem, which
// also puts an event that is not a test in owner's time index (Events);
// when the id is taken it reads which publish took it.
func (s *Store) Keep(ctx context.Context, ev delivery.Event, expires time.Time) (string, error) {
	it := eventItem{
		PK: eventPK(ev.Owner, ev.ID), SK: eventSK, Type: "event", EventID: ev.ID, EventType: string(ev.Type),
		Account: ev.Owner.Account, Mode: string(ev.Owner.Mode), Time: stamp(ev.Time),
		SourceID: ev.SourceID, Payload: ev.Payload, ExpiresAt: expires.Unix(), Test: ev.Test,
	}
	if !ev.Test {
		it.EventsPK, it.EventsSK = eventsPK(ev.Owner, ev.Time), eventsSK(ev.Time, ev.ID)
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return "", fmt.Errorf("encode event %s: %w", ev.ID, err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if !conditionFailed(err) {
		if err != nil {
			return "", awserr.Classify("dynamodb PutItem event "+ev.ID, err)
		}
		return ev.SourceID, nil
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:            aws.String(s.table),
		Key:                  key(eventPK(ev.Owner, ev.ID), eventSK),
		ConsistentRead:       aws.Bool(true),
		ProjectionExpression: aws.String("source_id"),
	})
	if err != nil {
		return "", awserr.Classify("dynamodb GetItem event "+ev.ID, err)
	}
	var stored eventItem
	if err := attributevalue.UnmarshalMap(out.Item, &stored); err != nil || stored.SourceID == "" {
		return "", fmt.Errorf("event %s: stored event unreadable: %v", ev.ID, err)
	}
	return stored.SourceID, nil
}

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

// Event implements delivery.History with a strongly consistent GetItem.
func (s *Store) Event(ctx context.Context, owner tenant.Tenant, id string) (delivery.Event, error) {
	item, err := s.getItem(ctx, "dynamodb GetItem event "+id, key(eventPK(owner, id), eventSK))
	if err != nil {
		return delivery.Event{}, err
	}
	if item == nil {
		return delivery.Event{}, fmt.Errorf("event %s: %w", id, delivery.ErrNotFound)
	}
	it, err := decodeEvent(item)
	switch {
	case err != nil:
		return delivery.Event{}, err
	case expired(it.ExpiresAt, s.now()):
		return delivery.Event{}, fmt.Errorf("event %s expired: %w", id, delivery.ErrNotFound)
	}
	return it.event()
}

// Payloads implements delivery.History with BatchGetItem of the event
// items; expired events are left out.
func (s *Store) Payloads(ctx context.Context, owner tenant.Tenant, ids []string) (map[string][]byte, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	for _, id := range slices.Compact(slices.Sorted(slices.Values(ids))) {
		keys = append(keys, key(eventPK(owner, id), eventSK))
	}
	out := make(map[string][]byte, len(ids))
	now := s.now()
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
	now := s.now()
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
	found, err := query(ctx, s.client, "dynamodb Query events of "+owner.String(), in, limit+1-len(evs),
		func(item map[string]types.AttributeValue) (delivery.Event, error) {
			it, err := decodeEvent(item)
			switch {
			case err != nil:
				return delivery.Event{}, err
			case expired(it.ExpiresAt, now):
				return delivery.Event{}, errPassOver
			}
			ev, err := it.event()
			ev.Owner = owner // the index does not project account and mode
			return ev, err
		})
	if err != nil {
		return nil, false, err
	}
	evs = append(evs, found...)
	if len(evs) > limit {
		return evs[:limit], true, nil
	}
	return evs, false, nil
}
