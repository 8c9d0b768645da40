package dynamo

// Delivery items: the event log the fan-out keeps, the state of each
// delivery, its attempts, and the webhook health the deliverer writes.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/awserr"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// Compile-time checks that Store implements the delivery ports.
var (
	_ delivery.Store       = (*Store)(nil)
	_ delivery.Subscribers = (*Store)(nil)
	_ delivery.EventLog    = (*Store)(nil)
)

// eventPK is the partition of one event: events spread over partitions,
// and a second publish of an id finds the first.
func eventPK(owner tenant.Tenant, id string) string {
	return "EVENT#" + owner.Account + "#" + string(owner.Mode) + "#" + id
}

// eventSK is the sort key of an event item.
const eventSK = "EVENT"

// endpointPK is the partition of one webhook's deliveries and attempts.
func endpointPK(webhookID string) string { return "ENDPOINT#" + webhookID }

// deliverySK is a delivery's sort key. Delivery ids are ULIDs of the
// event's time, so a Query of begins_with DELIVERY#, descending, lists a
// webhook's deliveries newest first.
func deliverySK(id string) string { return "DELIVERY#" + id }

// attemptsPrefix starts the sort keys of a delivery's attempts.
func attemptsPrefix(deliveryID string) string { return "ATTEMPT#" + deliveryID + "#" }

// attemptSK is an attempt's sort key: a delivery's attempts follow each
// other in order, after attemptsPrefix.
func attemptSK(deliveryID string, n int) string {
	return fmt.Sprintf("%s%03d", attemptsPrefix(deliveryID), n)
}

// eventsPK is the events-by-time index partition that lists owner's
// events (not tests) of the UTC day of at, by time. A partition per day
// spreads an account's writes and bounds each partition's size.
func eventsPK(owner tenant.Tenant, at time.Time) string {
	return "EVENTS#" + owner.Account + "#" + string(owner.Mode) + "#" + at.UTC().Format(time.DateOnly)
}

// eventTimeLayout writes event times in the index at a fixed width (UTC,
// nine fractional digits), so that their lexical order is time order.
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

// Webhooks implements delivery.Subscribers: one Query of owner's
// partition for its webhooks (an account holds a bounded number), pages
// followed to the end.
func (s *Store) Webhooks(ctx context.Context, owner tenant.Tenant) ([]webhook.Webhook, error) {
	in := s.webhooksQuery(owner)
	in.ConsistentRead = aws.Bool(true)
	var out []webhook.Webhook
	for {
		page, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, awserr.Classify("dynamodb Query webhooks of "+owner.String(), err)
		}
		for _, item := range page.Items {
			w, err := decodeWebhook(item)
			if err != nil {
				return nil, err
			}
			out = append(out, w)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
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
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
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

// deliveryItem is the stored state of one delivery.
type deliveryItem struct {
	DeliveryID     string `dynamodbav:"delivery_id"`
	EventID        string `dynamodbav:"event_id"`
	EventType      string `dynamodbav:"event_type"`
	EventTime      string `dynamodbav:"event_time"`
	Test           bool   `dynamodbav:"test"`
	State          string `dynamodbav:"state"`
	Attempts       int    `dynamodbav:"attempts"`
	Claim          string `dynamodbav:"claim"`
	ClaimedUntilMS int64  `dynamodbav:"claimed_until_ms"`
	PriorClaim     string `dynamodbav:"prior_claim"`
	WriteToken     string `dynamodbav:"write_token"`
	NextAttemptAt  string `dynamodbav:"next_attempt_at,omitempty"`
	AttemptLimit   int    `dynamodbav:"attempt_limit"`
	Reason         string `dynamodbav:"reason"`
	NoticePending  bool   `dynamodbav:"notice_pending"`
	LastAttemptAt  string `dynamodbav:"last_attempt_at"`
	LastStatus     int    `dynamodbav:"last_status"`
	LastError      string `dynamodbav:"last_error"`
	CreatedAt      string `dynamodbav:"created_at"`
	UpdatedAt      string `dynamodbav:"updated_at"`
	ExpiresAt      int64  `dynamodbav:"expires_at"`
	Begun          int    `dynamodbav:"begun"`
	BegunAt        string `dynamodbav:"begun_at"`
	BegunUntilMS   int64  `dynamodbav:"begun_until_ms"`
	SeriesStart    string `dynamodbav:"series_start"`
	ResendShard    string `dynamodbav:"resend_shard,omitempty"`
	ResendAt       string `dynamodbav:"resend_at,omitempty"`
}

// status is the domain's view of a stored delivery.
func (d deliveryItem) status() (delivery.Status, error) {
	st := delivery.Status{Exists: true, State: delivery.State(d.State), Attempts: d.Attempts, Claim: d.Claim,
		ClaimedUntil: time.UnixMilli(d.ClaimedUntilMS).UTC(), PriorClaim: d.PriorClaim, AttemptLimit: d.AttemptLimit, Reason: d.Reason,
		NoticePending: d.NoticePending, Begun: max(d.Begun, d.Attempts), BegunUntil: time.UnixMilli(d.BegunUntilMS).UTC()}
	var err error
	if st.NextAttemptAt, err = parseStamp(d.NextAttemptAt); err != nil {
		return delivery.Status{}, fmt.Errorf("decode delivery %s next_attempt_at: %w", d.DeliveryID, err)
	}
	if st.ResendAt, err = parseStamp(resendTime(d.ResendAt)); err != nil {
		return delivery.Status{}, fmt.Errorf("decode delivery %s resend_at: %w", d.DeliveryID, err)
	}
	if st.BegunAt, err = parseStamp(d.BegunAt); err != nil {
		return delivery.Status{}, fmt.Errorf("decode delivery %s begun_at: %w", d.DeliveryID, err)
	}
	if st.UpdatedAt, err = parseStamp(d.UpdatedAt); err != nil {
		return delivery.Status{}, fmt.Errorf("decode delivery %s updated_at: %w", d.DeliveryID, err)
	}
	return st, nil
}

// stamp formats a time as the delivery items store it; "" for the zero
// time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// parseStamp reads a time that stamp wrote; the zero time for "".
func parseStamp(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// decodeDelivery decodes a stored delivery item.
func decodeDelivery(item map[string]types.AttributeValue) (deliveryItem, error) {
	var d deliveryItem
	if err := attributevalue.UnmarshalMap(item, &d); err != nil {
		return deliveryItem{}, fmt.Errorf("decode delivery item: %w", err)
	}
	return d, nil
}

// Target implements delivery.Store with one BatchGetItem (strongly
// consistent) of the webhook, its gate and the delivery.
func (s *Store) Target(ctx context.Context, owner tenant.Tenant, webhookID, deliveryID string) (delivery.Target, error) {
	keys := []map[string]types.AttributeValue{key(tenantPK(owner), webhookSK(webhookID)), key(endpointPK(webhookID), deliverySK(deliveryID)),
		key(endpointPK(webhookID), gateSK)}
	op := "dynamodb BatchGetItem delivery " + deliveryID
	var t delivery.Target
	err := s.batchGet(ctx, op, keys, func(item map[string]types.AttributeValue) error {
		var err error
		sk, _ := item[attrSK].(*types.AttributeValueMemberS)
		switch {
		case sk != nil && strings.HasPrefix(sk.Value, webhookSK("")):
			t.Webhook, err = decodeWebhook(item)
			t.Found = err == nil
			return err
		case sk != nil && sk.Value == gateSK:
			t.Gate, err = decodeGate(item)
			return err
		}
		d, err := decodeDelivery(item)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		t.Delivery, err = d.status()
		return err
	})
	if err != nil {
		return delivery.Target{}, err
	}
	return t, nil
}

// batchGetMax is the most keys one BatchGetItem may ask for.
const batchGetMax = 100

// batchGet reads keys (no two the same) with strongly consistent
// BatchGetItem calls of at most batchGetMax keys, tries again the keys
// DynamoDB leaves unprocessed, and hands each item found to each.
func (s *Store) batchGet(ctx context.Context, op string, keys []map[string]types.AttributeValue, each func(map[string]types.AttributeValue) error) error {
	for len(keys) > 0 {
		n := min(len(keys), batchGetMax)
		in := &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
			s.table: {Keys: keys[:n], ConsistentRead: aws.Bool(true)},
		}}
		keys = keys[n:]
		for try := 1; ; try++ {
			out, err := s.client.BatchGetItem(ctx, in)
			if err != nil {
				return awserr.Classify(op, err)
			}
			for _, item := range out.Responses[s.table] {
				if err := each(item); err != nil {
					return err
				}
			}
			if len(out.UnprocessedKeys[s.table].Keys) == 0 {
				break
			}
			if try == batchTries {
				return awserr.Unavailable(op, errors.New("keys left unprocessed"))
			}
			in.RequestItems = out.UnprocessedKeys
			if err := pause(ctx, try); err != nil {
				return awserr.Classify(op, err)
			}
		}
	}
	return nil
}

// batchTries bounds the tries of a batch call or transaction that DynamoDB
// partly declines (throttling, conflicts).
const batchTries = 5

// Positions of the delivery transaction's items.
const (
	saveDeliveryItem = iota
	saveAttemptItem
)

// Save implements delivery.Store: one TransactWriteItems writes the
// delivery's state (conditional on its owner and attempt count), the
// attempt record and the webhook's health, and marks a notice owed as
// pending. When the webhook is gone, the health part fails its condition
// and the rest is written without it. It reports whether the notice owed
// was stored.
func (s *Store) Save(ctx context.Context, r delivery.Record) (bool, error) {
	op := "dynamodb TransactWriteItems delivery " + r.Message.DeliveryID
	withHealth := r.Health != delivery.NoChange
	for try := 1; ; try++ {
		token := newToken()
		items := []types.TransactWriteItem{saveDeliveryItem: {Update: s.deliveryUpdate(r, token)}}
		if r.Attempt != nil {
			put, err := s.attemptPut(r)
			if err != nil {
				return false, err
			}
			items = append(items, types.TransactWriteItem{Put: put})
		}
		if withHealth {
			items = append(items, types.TransactWriteItem{Update: s.healthUpdate(r)})
		}
		codes, tce, err := s.transact(ctx, op, items, token)
		if err != nil && !awserr.Transient(err) {
			return false, err
		}
		if tce == nil && err == nil {
			return r.Notify, nil
		}
		// A lost answer or a failed condition: the delivery item says
		// whether this write committed, or another moved it on.
		state, rerr := s.deliveryState(ctx, r.Message.WebhookID, r.Message.DeliveryID)
		switch {
		case rerr != nil:
			return false, errors.Join(err, rerr)
		case state.WriteToken == token:
			return r.Notify, nil
		case err != nil:
			return false, err
		}
		if c := cancelled(op, tce, codes); errors.Is(c, apperr.ErrUnavailable) {
			if !errors.Is(c, errConflicted) || try == batchTries {
				return false, c
			}
			if err := pause(ctx, try); err != nil {
				return false, awserr.Classify(op, err)
			}
			continue
		}
		if !state.admits(r) {
			return false, fmt.Errorf("%s: %w", op, delivery.ErrChanged)
		}
		if !withHealth {
			return false, fmt.Errorf("%s: %w", op, tce)
		}
		// Only the health change can have failed: its webhook was deleted,
		// or changed since it was read. Record the delivery without it, and
		// without the notice of a disable that did not happen.
		withHealth = false
		if r.Health == delivery.Disable {
			r.Notify = false
		}
	}
}

// admits reports whether the stored delivery d still meets r's
// condition (see deliveryUpdate).
func (d deliveryItem) admits(r delivery.Record) bool {
	if d.DeliveryID == "" {
		return r.Prior == 0
	}
	begun := d.Begun <= d.Attempts || d.BegunUntilMS < r.At.UnixMilli()
	if r.Attempt != nil {
		begun = d.Begun == r.Attempt.Number
	}
	return d.Attempts == r.Prior && d.State == string(delivery.StatePending) &&
		(d.Claim == r.Claim || d.ClaimedUntilMS < r.At.UnixMilli()) && begun
}

// deliveryState reads a delivery item with a strongly consistent read; a
// missing one is the zero deliveryItem.
func (s *Store) deliveryState(ctx context.Context, webhookID, deliveryID string) (deliveryItem, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(endpointPK(webhookID), deliverySK(deliveryID)),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return deliveryItem{}, awserr.Classify("dynamodb GetItem delivery "+deliveryID, err)
	}
	d, err := decodeDelivery(out.Item)
	if err != nil {
		return deliveryItem{}, fmt.Errorf("delivery %s: %w", deliveryID, err)
	}
	return d, nil
}

// deliveryUpdate writes a delivery's state. The condition lets only the
// delivery's first writer, or its owner at the attempt count it read,
// write. Whatever a manual send took the delivery over from is forgotten
// (prior_claim): the delivery's series is r's now.
func (s *Store) deliveryUpdate(r delivery.Record, token string) *types.Update {
	m := r.Message
	u := newUpdate()
	u.message(m, false)
	u.set("#state", &types.AttributeValueMemberS{Value: string(r.State)})
	u.set("attempts", number(int64(r.Attempts)))
	u.set("claim", &types.AttributeValueMemberS{Value: r.Claim})
	u.set("claimed_until_ms", number(r.ClaimedUntil.UnixMilli()))
	u.remove = append(u.remove, "prior_claim")
	u.setExpr("created_at = if_not_exists(created_at, :updated_at)")
	u.set("updated_at", &types.AttributeValueMemberS{Value: stamp(r.At)})
	u.set("expires_at", number(r.Expires.Unix()))
	u.set(writeToken, &types.AttributeValueMemberS{Value: token})
	u.optional("reason", r.Reason)
	u.optional("next_attempt_at", stamp(r.NextAttemptAt))
	if r.Notify {
		u.set("notice_pending", &types.AttributeValueMemberBOOL{Value: true})
	}
	u.parking(m.DeliveryID, r.State, r.ResendAt)
	// No attempt in progress: the one recorded is the one begun, and a
	// step without an attempt finds none begun and unrecorded (or that
	// one's lease ended).
	begun := " AND (attribute_not_exists(begun) OR begun = attempts OR begun_until_ms < :now_ms)"
	if a := r.Attempt; a != nil {
		begun = " AND begun = :begun"
		u.values[":begun"] = number(int64(a.Number))
	}
	if a := r.Attempt; a != nil {
		u.setExpr("last_attempt_at = :updated_at")
		if a.Response.Status != 0 {
			u.set("last_status", number(int64(a.Response.Status)))
		} else {
			u.remove = append(u.remove, "last_status")
		}
		u.optional("last_error", string(a.Response.Error))
	}
	u.values[":prior"] = number(int64(r.Prior))
	u.values[":pending"] = &types.AttributeValueMemberS{Value: string(delivery.StatePending)}
	u.values[":now_ms"] = number(r.At.UnixMilli())
	return &types.Update{
		TableName:        aws.String(s.table),
		Key:              key(endpointPK(m.WebhookID), deliverySK(m.DeliveryID)),
		UpdateExpression: aws.String(u.expression()),
		ConditionExpression: aws.String("(attribute_not_exists(pk) AND :prior = :zero) OR " +
			"(attempts = :prior AND #state = :pending AND (claim = :claim OR claimed_until_ms < :now_ms)" + begun + ")"),
		ExpressionAttributeNames:  deliveryNames(),
		ExpressionAttributeValues: withZero(u.values),
	}
}

// deliveryNames are the placeholders of a delivery item's attribute names
// that are reserved words.
func deliveryNames() map[string]string {
	return map[string]string{"#type": "type", "#mode": "mode", "#state": "state"}
}

// update builds an UpdateExpression of SET and REMOVE clauses. An
// attribute "name" (or "#name") is set from the value ":name".
type update struct {
	sets, remove []string
	values       map[string]types.AttributeValue
}

// newUpdate returns an empty update.
func newUpdate() *update { return &update{values: map[string]types.AttributeValue{}} }

// placeholder is the value placeholder of attribute name.
func placeholder(name string) string { return ":" + strings.TrimPrefix(name, "#") }

// set sets name to v.
func (u *update) set(name string, v types.AttributeValue) {
	u.sets = append(u.sets, name+" = "+placeholder(name))
	u.values[placeholder(name)] = v
}

// setExpr adds a SET clause as written; its values are the caller's.
func (u *update) setExpr(clause string) { u.sets = append(u.sets, clause) }

// setNew sets name to v unless the item has it already.
func (u *update) setNew(name string, v types.AttributeValue) {
	u.sets = append(u.sets, fmt.Sprintf("%s = if_not_exists(%s, %s)", name, name, placeholder(name)))
	u.values[placeholder(name)] = v
}

// optional sets name to value, or removes it when value is "".
func (u *update) optional(name, value string) {
	if value == "" {
		u.remove = append(u.remove, name)
		return
	}
	u.set(name, &types.AttributeValueMemberS{Value: value})
}

// optionalN sets name to n, or removes it when n is 0.
func (u *update) optionalN(name string, n int) {
	if n == 0 {
		u.remove = append(u.remove, name)
		return
	}
	u.set(name, number(int64(n)))
}

// message sets the attributes a delivery item takes from its message;
// only where the item has none when onlyNew, but for its series' start,
// which is always the message's.
func (u *update) message(m delivery.Message, onlyNew bool) {
	set := u.set
	if onlyNew {
		set = u.setNew
	}
	for _, a := range []struct {
		name string
		v    types.AttributeValue
	}{
		{"#type", &types.AttributeValueMemberS{Value: "delivery"}},
		{"delivery_id", &types.AttributeValueMemberS{Value: m.DeliveryID}},
		{"event_id", &types.AttributeValueMemberS{Value: m.EventID}},
		{"event_type", &types.AttributeValueMemberS{Value: string(m.EventType)}},
		{"event_time", &types.AttributeValueMemberS{Value: stamp(m.EventTime)}},
		{"webhook_id", &types.AttributeValueMemberS{Value: m.WebhookID}},
		{"account", &types.AttributeValueMemberS{Value: m.Account}},
		{"#mode", &types.AttributeValueMemberS{Value: string(m.Mode)}},
		{"test", &types.AttributeValueMemberBOOL{Value: m.Test}},
	} {
		set(a.name, a.v)
	}
	// Always the message's: a manual send starts a new series over an
	// existing delivery, and the sweeper rebuilds its message from it.
	u.set("series_start", &types.AttributeValueMemberS{Value: stamp(cmp.Or(m.SeriesStart, m.EventTime))})
}

// expression is the UpdateExpression.
func (u *update) expression() string {
	expr := "SET " + strings.Join(u.sets, ", ")
	if len(u.remove) > 0 {
		expr += " REMOVE " + strings.Join(u.remove, ", ")
	}
	return expr
}

// withZero adds :zero to values.
func withZero(values map[string]types.AttributeValue) map[string]types.AttributeValue {
	values[":zero"] = number(0)
	return values
}

// NoticeSent implements delivery.Store: it removes the delivery's
// notice_pending if the delivery still has attempts attempts. A delivery
// no longer stored has no notice to clear, and one that moved on keeps
// the notice of its later outcome.
func (s *Store) NoticeSent(ctx context.Context, webhookID, deliveryID string, attempts int) error {
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(endpointPK(webhookID), deliverySK(deliveryID)),
		UpdateExpression:          aws.String("REMOVE notice_pending"),
		ConditionExpression:       aws.String("attempts = :attempts"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":attempts": number(int64(attempts))},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil
	}
	return awserr.Classify("dynamodb UpdateItem notice of delivery "+deliveryID, err)
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

// healthUpdate writes the change r makes to its webhook's health. It
// never creates a webhook item: the webhook must still exist. The count
// of failures in a row (failing_attempts) goes with failing_since: a
// start sets both, only where no streak is under way, and a count needs
// one; so an attempt that read the health before another changed it is
// recorded without its change (Save), which can only undercount, and a
// count a re-enable left behind (it removes failing_since) is set afresh.
func (s *Store) healthUpdate(r delivery.Record) *types.Update {
	at := &types.AttributeValueMemberS{Value: r.At.UTC().Format(time.RFC3339Nano)}
	u := &types.Update{
		TableName:           aws.String(s.table),
		Key:                 key(tenantPK(r.Message.Owner()), webhookSK(r.Message.WebhookID)),
		ConditionExpression: aws.String("attribute_exists(pk)"),
	}
	switch r.Health {
	case delivery.StartFailing:
		u.UpdateExpression = aws.String("SET failing_since = :at, failing_attempts = :one")
		u.ConditionExpression = aws.String("attribute_exists(pk) AND attribute_not_exists(failing_since)")
		u.ExpressionAttributeValues = map[string]types.AttributeValue{":at": at, ":one": number(1)}
	case delivery.CountFailure:
		u.UpdateExpression = aws.String("ADD failing_attempts :one")
		u.ConditionExpression = aws.String("attribute_exists(pk) AND attribute_exists(failing_since)")
		u.ExpressionAttributeValues = map[string]types.AttributeValue{":one": number(1)}
	case delivery.Recover:
		u.UpdateExpression = aws.String("REMOVE failing_since, failing_attempts")
	case delivery.Disable:
		// The version moves on, so that an update that read the webhook
		// before it was disabled does not re-enable it unawares.
		u.UpdateExpression = aws.String("SET is_active = :false, disabled_reason = :reason, disabled_at = :at, " +
			"failing_since = if_not_exists(failing_since, :at), updated_at = :updated, version = version + :one")
		// Only the webhook as it was read: a change since (a new URL, a
		// re-enable) is not undone by an answer from before it.
		u.ConditionExpression = aws.String("attribute_exists(pk) AND version = :read")
		u.ExpressionAttributeValues = map[string]types.AttributeValue{
			":false":   &types.AttributeValueMemberBOOL{Value: false},
			":reason":  &types.AttributeValueMemberS{Value: r.Reason},
			":at":      at,
			":updated": &types.AttributeValueMemberS{Value: r.At.UTC().Format(time.RFC3339)},
			":one":     number(1),
			":read":    number(int64(r.WebhookVersion)),
		}
	}
	return u
}
