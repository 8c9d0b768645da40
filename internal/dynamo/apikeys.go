package dynamo

// API key records: one item per key, under the hash of the key.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/apikey"
	"github.com/docproc/webhooks/internal/awserr"
	"github.com/docproc/webhooks/internal/tenant"
)

// indexByAccount is the sparse global secondary index that lists an
// account's API keys (gsi1pk = ACCOUNT#<account>, gsi1sk =
// APIKEY#<created>#<hash>); template.yaml declares the same.
const indexByAccount = "by-account"

// apiKeyItem is the stored form of an API key record.
type apiKeyItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Type      string `dynamodbav:"type"`
	Account   string `dynamodbav:"account"`
	Mode      string `dynamodbav:"mode"`
	Hint      string `dynamodbav:"hint"`
	Status    string `dynamodbav:"status"`
	CreatedAt string `dynamodbav:"created_at"`
	RevokedAt string `dynamodbav:"revoked_at,omitempty"`
	GSI1PK    string `dynamodbav:"gsi1pk"`
	GSI1SK    string `dynamodbav:"gsi1sk"`
}

// The values of an API key item's status.
const (
	statusActive  = "active"
	statusRevoked = "revoked"
)

// apiKeyPK returns the partition key of the API key with the given hash.
func apiKeyPK(hash string) string { return "APIKEY#" + hash }

// LookupAPIKey implements apikey.Store with a strongly consistent read, so
// a revocation takes effect at once.
func (s *Store) LookupAPIKey(ctx context.Context, hash string) (apikey.Record, error) {
	item, err := s.getItem(ctx, "dynamodb GetItem api key", key(apiKeyPK(hash), "APIKEY"))
	if err != nil {
		return apikey.Record{}, err
	}
	if item == nil {
		return apikey.Record{}, apikey.ErrNotFound
	}
	return decodeAPIKey(item)
}

// decodeAPIKey decodes a stored API key item.
func decodeAPIKey(item map[string]types.AttributeValue) (apikey.Record, error) {
	var it apiKeyItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return apikey.Record{}, fmt.Errorf("decode api key item: %w", err)
	}
	owner, err := tenant.New(it.Account, tenant.Mode(it.Mode))
	if err != nil {
		return apikey.Record{}, fmt.Errorf("decode api key item: %w", err)
	}
	created, err := time.Parse(time.RFC3339, it.CreatedAt)
	if err != nil {
		return apikey.Record{}, fmt.Errorf("decode api key item created_at: %w", err)
	}
	r := apikey.Record{Hash: strings.TrimPrefix(it.PK, "APIKEY#"), Owner: owner, Hint: it.Hint,
		Active: it.Status == statusActive, CreatedAt: created}
	if it.RevokedAt != "" {
		if r.RevokedAt, err = time.Parse(time.RFC3339, it.RevokedAt); err != nil {
			return apikey.Record{}, fmt.Errorf("decode api key item revoked_at: %w", err)
		}
	}
	return r, nil
}

// PutAPIKey implements apikey.Store with a PutItem, which replaces the
// record stored under the same hash.
func (s *Store) PutAPIKey(ctx context.Context, r apikey.Record) error {
	status := statusRevoked
	if r.Active {
		status = statusActive
	}
	it := apiKeyItem{
		PK: apiKeyPK(r.Hash), SK: "APIKEY", Type: "api_key",
		Account: r.Owner.Account, Mode: string(r.Owner.Mode), Hint: r.Hint,
		Status: status, CreatedAt: r.CreatedAt.UTC().Format(time.RFC3339),
		GSI1PK: "ACCOUNT#" + r.Owner.Account,
		GSI1SK: "APIKEY#" + r.CreatedAt.UTC().Format(time.RFC3339) + "#" + r.Hash,
	}
	if !r.RevokedAt.IsZero() {
		it.RevokedAt = r.RevokedAt.UTC().Format(time.RFC3339)
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return fmt.Errorf("encode api key item: %w", err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item})
	return awserr.Classify("dynamodb PutItem api key", err)
}

// ListAPIKeys implements apikey.Store with a Query of the by-account index.
func (s *Store) ListAPIKeys(ctx context.Context, account string) ([]apikey.Record, error) {
	return query(ctx, s.client, "dynamodb Query api keys", &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		IndexName:              aws.String(indexByAccount),
		KeyConditionExpression: aws.String("gsi1pk = :pk AND begins_with(gsi1sk, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":     &types.AttributeValueMemberS{Value: "ACCOUNT#" + account},
			":prefix": &types.AttributeValueMemberS{Value: "APIKEY#"},
		},
	}, 0, decodeAPIKey)
}

// RevokeAPIKey implements apikey.Store with an UpdateItem conditional on
// the record existing (apikey.ErrNotFound otherwise). A second revoke
// keeps the first one's time.
func (s *Store) RevokeAPIKey(ctx context.Context, hash string, at time.Time) error {
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(apiKeyPK(hash), "APIKEY"),
		UpdateExpression:         aws.String("SET #status = :revoked, revoked_at = if_not_exists(revoked_at, :at)"),
		ConditionExpression:      aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames: map[string]string{"#status": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":revoked": &types.AttributeValueMemberS{Value: statusRevoked},
			":at":      &types.AttributeValueMemberS{Value: at.UTC().Format(time.RFC3339)},
		},
	})
	if conditionFailed(err) {
		return apikey.ErrNotFound
	}
	return awserr.Classify("dynamodb UpdateItem revoke api key", err)
}
