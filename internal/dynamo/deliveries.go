package dynamo

// Delivery items: the state of each delivery, which the deliverer reads
// with its webhook and gate (Target), takes an attempt on (Begin) and
// writes with the attempt's outcome (Save, NoticeSent).

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/awserr"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/tenant"
)

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

// Save implements delivery.Store: one TransactWriteItems writes the
// delivery's state (conditional on its owner and attempt count), the
// attempt record and the webhook's health, and marks a notice owed as
// pending. When the webhook is gone, or changed since it was read, the
// health part fails its condition and the rest is written without it (and
// without the notice of a disable that did not happen). A transaction
// cancelled by a concurrent one is tried again, up to transactionTries in
// all. It reports whether the notice owed was stored.
func (s *Store) Save(ctx context.Context, r delivery.Record) (bool, error) {
	op := "dynamodb TransactWriteItems delivery " + r.Message.DeliveryID
	withHealth := r.Health != delivery.NoChange
	for try := 1; ; try++ {
		token := newToken()
		items, err := s.saveItems(r, withHealth, token)
		if err != nil {
			return false, err
		}
		codes, tce, err := s.transact(ctx, op, items, token)
		next, err := s.saveOutcome(ctx, op, r, withHealth, token, codes, tce, err)
		switch {
		case next == saved:
			return r.Notify, nil
		case next == saveWithoutHealth:
			withHealth = false
			if r.Health == delivery.Disable {
				r.Notify = false
			}
		case next == saveAgain && try < transactionTries:
			if err := pause(ctx, try); err != nil {
				return false, awserr.Classify(op, err)
			}
		default:
			return false, err
		}
	}
}

// saveItems are the items of Save's transaction for r, in order: the
// delivery's state, r's attempt if it made one, and the health change
// when withHealth.
func (s *Store) saveItems(r delivery.Record, withHealth bool, token string) ([]types.TransactWriteItem, error) {
	items := []types.TransactWriteItem{{Update: s.deliveryUpdate(r, token)}}
	if r.Attempt != nil {
		put, err := s.attemptPut(r)
		if err != nil {
			return nil, err
		}
		items = append(items, types.TransactWriteItem{Put: put})
	}
	if withHealth {
		items = append(items, types.TransactWriteItem{Update: s.healthUpdate(r)})
	}
	return items, nil
}

// A saveStep is what Save does after a try of its transaction.
type saveStep int

const (
	saveFailed        saveStep = iota // stop with the error
	saved                             // the write committed
	saveAgain                         // a concurrent transaction cancelled it: pause and try again
	saveWithoutHealth                 // only the health change failed its condition: try without it
)

// saveOutcome decides what a try of Save's transaction, with token, came
// to from what transact returned. After a lost answer (a transient error)
// or a cancellation it reads the delivery item: when the item holds
// token, the try committed after all. Otherwise a transient error stays
// the error, and a cancellation is a conflict to try again, throttling
// (unavailable), ErrChanged when the stored delivery no longer admits r
// (another writer moved it on), or else the failed condition of the
// health change, the one part that can fail while the delivery admits r.
func (s *Store) saveOutcome(ctx context.Context, op string, r delivery.Record, withHealth bool, token string,
	codes []string, tce *types.TransactionCanceledException, err error) (saveStep, error) {
	if err != nil && !awserr.Transient(err) {
		return saveFailed, err
	}
	if tce == nil && err == nil {
		return saved, nil
	}
	state, rerr := s.deliveryState(ctx, r.Message.WebhookID, r.Message.DeliveryID)
	switch {
	case rerr != nil:
		return saveFailed, errors.Join(err, rerr)
	case state.WriteToken == token:
		return saved, nil
	case err != nil:
		return saveFailed, err
	}
	switch c := cancelled(op, tce, codes); {
	case errors.Is(c, errConflicted):
		return saveAgain, c
	case errors.Is(c, apperr.ErrUnavailable):
		return saveFailed, c
	case !state.admits(r):
		return saveFailed, fmt.Errorf("%s: %w", op, delivery.ErrChanged)
	case !withHealth:
		return saveFailed, fmt.Errorf("%s: %w", op, tce)
	}
	return saveWithoutHealth, nil
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
	item, err := s.getItem(ctx, "dynamodb GetItem delivery "+deliveryID, key(endpointPK(webhookID), deliverySK(deliveryID)))
	if err != nil {
		return deliveryItem{}, err
	}
	d, err := decodeDelivery(item)
	if err != nil {
		return deliveryItem{}, fmt.Errorf("delivery %s: %w", deliveryID, err)
	}
	return d, nil
}

// deliveryUpdate writes a delivery's state. The condition lets only the
// delivery's first writer, or its owner (r's claim, or any once the
// claim's lease ended) at the attempt count it read and still pending,
// write; with an attempt, only when that attempt is the one begun, and
// without, only when no attempt is begun and unrecorded (or that one's
// lease ended). Whatever a manual send took the delivery over from is forgotten
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
	if conditionFailed(err) {
		return nil
	}
	return awserr.Classify("dynamodb UpdateItem notice of delivery "+deliveryID, err)
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
	u.claimed(m, b.Claim, b.ClaimedUntil, b.At, b.Expires, token)
	u.setNew("#state", &types.AttributeValueMemberS{Value: string(delivery.StatePending)})
	u.set("begun", number(int64(b.Number)))
	u.set("begun_at", &types.AttributeValueMemberS{Value: stamp(b.At)})
	u.set("begun_until_ms", number(b.Until.UnixMilli()))
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
	return s.conditionalOutcome(ctx, op, m, token, err)
}

// conditionalOutcome is the outcome of a conditional write of m's
// delivery item that carried token and returned err: a failed condition
// is ErrChanged, unless the token read back says this write's own first
// try committed (the SDK retried it after a lost answer).
func (s *Store) conditionalOutcome(ctx context.Context, op string, m delivery.Message, token string, err error) error {
	if !conditionFailed(err) {
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
