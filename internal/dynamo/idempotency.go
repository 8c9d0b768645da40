package dynamo

// Idempotency records: one item per owner and key, claimed while the
// request runs and completed with its result.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/awserr"
	"github.com/docproc/webhooks/internal/webhook"
)

// States of an idempotency record.
const (
	stateInProgress = "in_progress"
	stateCompleted  = "completed"
)

// idempotencyItem is the stored form of an idempotency record. It holds the
// request's fingerprint and, once completed, the webhook as created (with
// its secret's ARN, never the secret) or the result of an operation that
// returns no secret.
type idempotencyItem struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	Type        string `dynamodbav:"type"`
	State       string `dynamodbav:"state"`
	Fingerprint string `dynamodbav:"fingerprint"`
	// LockToken is the token of the request that holds or completed the
	// key, so that a retry of its own write can recognise it.
	LockToken   string       `dynamodbav:"lock_token,omitempty"`
	LockedUntil int64        `dynamodbav:"locked_until_ms"`
	CreatedAt   string       `dynamodbav:"created_at"`
	ExpiresAt   int64        `dynamodbav:"expires_at"`
	Webhook     *webhookItem `dynamodbav:"webhook,omitempty"`
	// SecretSHA256 is the hash of the secret the first response carried.
	SecretSHA256 string `dynamodbav:"secret_sha256,omitempty"`
	// Result is the first response of an operation run by webhook.Service.Once.
	Result []byte `dynamodbav:"result,omitempty"`
}

// idempotencySK returns the sort key of an idempotency record. The key is
// hashed so that any printable key makes a sort key of fixed length.
func idempotencySK(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "IDEMPOTENCY#" + hex.EncodeToString(sum[:])
}

// claimItem is the record of c in state.
func claimItem(c webhook.Claim, state string) idempotencyItem {
	return idempotencyItem{
		PK: tenantPK(c.Owner), SK: idempotencySK(c.Key), Type: "idempotency_key", State: state,
		Fingerprint: c.Fingerprint, LockToken: c.Token, LockedUntil: c.LockedUntil.UnixMilli(),
		CreatedAt: c.At.UTC().Format(time.RFC3339), ExpiresAt: c.ExpiresAt.Unix(),
	}
}

// heldBy is the condition that the record is in progress under c's token.
const heldBy = "#state = :in_progress AND lock_token = :token"

// heldByValues are the values heldBy refers to.
func heldByValues(c webhook.Claim) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		":in_progress": &types.AttributeValueMemberS{Value: stateInProgress},
		":token":       &types.AttributeValueMemberS{Value: c.Token},
	}
}

// completeClaim is the transaction item that marks c completed with rec.
func completeClaim(table string, c webhook.Claim, rec webhook.IdempotencyRecord) (types.TransactWriteItem, error) {
	it := claimItem(c, stateCompleted)
	it.SecretSHA256, it.Result = rec.SecretSHA256, rec.Result
	if rec.Webhook.ID != "" { // a create or a rotation; webhook.Service.Once keeps a Result instead
		snapshot := toWebhookItem(rec.Webhook)
		it.Webhook = &snapshot
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("encode idempotency record: %w", err)
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName:                 aws.String(table),
		Item:                      item,
		ConditionExpression:       aws.String(heldBy),
		ExpressionAttributeNames:  map[string]string{"#state": "state"},
		ExpressionAttributeValues: heldByValues(c),
	}}, nil
}

// ClaimKey implements webhook.KeyStore. The put succeeds when there is no
// record, when the record has outlived its TTL (DynamoDB deletes expired
// items lazily) or when its lock has expired; otherwise the record is read
// back with a consistent read. A record that c itself holds (a retried put
// whose first try committed) is c's claim.
func (s *Store) ClaimKey(ctx context.Context, c webhook.Claim) (*webhook.IdempotencyRecord, error) {
	item, err := attributevalue.MarshalMap(claimItem(c, stateInProgress))
	if err != nil {
		return nil, fmt.Errorf("encode idempotency record: %w", err)
	}
	// A record can vanish (TTL) between a failed put and the read; then the
	// claim is simply tried again.
	for range 3 {
		_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(s.table),
			Item:      item,
			ConditionExpression: aws.String("attribute_not_exists(pk) OR expires_at < :now_s OR " +
				"(#state = :in_progress AND locked_until_ms < :now_ms)"),
			ExpressionAttributeNames: map[string]string{"#state": "state"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":now_s":       number(c.At.Unix()),
				":now_ms":      number(c.At.UnixMilli()),
				":in_progress": &types.AttributeValueMemberS{Value: stateInProgress},
			},
		})
		if !conditionFailed(err) {
			return nil, awserr.Classify("dynamodb PutItem idempotency key", err)
		}
		it, err := s.idempotencyItem(ctx, c)
		switch {
		case err != nil:
			return nil, err
		case it == nil:
			continue
		case it.State == stateInProgress && it.LockToken == c.Token:
			return nil, nil // this claim's first try committed; its answer was lost
		}
		return it.record()
	}
	return nil, fmt.Errorf("claim idempotency key: the record keeps changing")
}

// CompleteKey implements webhook.KeyStore with a PutItem of the completed
// record, conditional on c still holding the key. A failed condition is
// webhook.ErrClaimLost, unless the record read back is c's completion
// (this write's first try committed, its answer lost).
func (s *Store) CompleteKey(ctx context.Context, c webhook.Claim, rec webhook.IdempotencyRecord) error {
	complete, err := completeClaim(s.table, c, rec)
	if err != nil {
		return err
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 complete.Put.TableName,
		Item:                      complete.Put.Item,
		ConditionExpression:       complete.Put.ConditionExpression,
		ExpressionAttributeNames:  complete.Put.ExpressionAttributeNames,
		ExpressionAttributeValues: complete.Put.ExpressionAttributeValues,
	})
	if !conditionFailed(err) {
		return awserr.Classify("dynamodb PutItem complete idempotency key", err)
	}
	it, err := s.idempotencyItem(ctx, c)
	switch {
	case err != nil:
		return err
	case it != nil && it.State == stateCompleted && it.LockToken == c.Token:
		return nil // this completion's first try committed; its answer was lost
	}
	return webhook.ErrClaimLost
}

// idempotencyItem reads c's key's record as stored; nil if there is none.
func (s *Store) idempotencyItem(ctx context.Context, c webhook.Claim) (*idempotencyItem, error) {
	item, err := s.getItem(ctx, "dynamodb GetItem idempotency key", key(tenantPK(c.Owner), idempotencySK(c.Key)))
	if err != nil {
		return nil, err
	}
	if item == nil {
		return nil, nil
	}
	var it idempotencyItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return nil, fmt.Errorf("decode idempotency record: %w", err)
	}
	return &it, nil
}

// record returns the domain's view of a stored record.
func (it *idempotencyItem) record() (*webhook.IdempotencyRecord, error) {
	rec := &webhook.IdempotencyRecord{Fingerprint: it.Fingerprint, Completed: it.State == stateCompleted,
		SecretSHA256: it.SecretSHA256, Result: it.Result}
	if rec.Completed && it.Webhook != nil {
		w, err := it.Webhook.webhook()
		if err != nil {
			return nil, err
		}
		rec.Webhook = w
	}
	return rec, nil
}

// ReleaseKey implements webhook.KeyStore. A record that is no longer c's,
// or no longer in progress, is left alone.
func (s *Store) ReleaseKey(ctx context.Context, c webhook.Claim) error {
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(tenantPK(c.Owner), idempotencySK(c.Key)),
		ConditionExpression:       aws.String(heldBy),
		ExpressionAttributeNames:  map[string]string{"#state": "state"},
		ExpressionAttributeValues: heldByValues(c),
	})
	if conditionFailed(err) {
		return nil
	}
	return awserr.Classify("dynamodb DeleteItem idempotency key", err)
}
