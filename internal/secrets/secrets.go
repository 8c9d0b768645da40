// Package secrets keeps webhook signing secrets in AWS Secrets Manager.
//
// Each webhook has one secret named <prefix>/<mode>/<account>/<webhook id>,
// tagged with account, mode and webhook id. Its value is JSON holding the
// signing secret (the deliverer needs it to compute HMACs) and its SHA-256
// (support can confirm which secret a customer holds without reading it),
// and the same for each earlier secret a rotation keeps in its grace
// period (Value).
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/docproc/webhooks/internal/awserr"
	"github.com/docproc/webhooks/internal/janitor"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// Compile-time checks that Store implements the ports it serves.
var (
	_ webhook.SecretStore = (*Store)(nil)
	_ janitor.Secrets     = (*Store)(nil)
)

// Tag keys set on every secret.
const (
	TagAccount   = "account"
	TagMode      = "mode"
	TagWebhookID = "webhook_id"
)

// Value is the JSON stored as a secret's SecretString.
type Value struct {
	// SigningSecret is the current "whsec_..." secret.
	SigningSecret string `json:"signing_secret"`
	// SigningSecretSHA256 is the hex SHA-256 of SigningSecret.
	SigningSecretSHA256 string `json:"signing_secret_sha256"`
	// Previous are earlier secrets in their grace period after a rotation;
	// deliveries are signed with these too until each expires.
	Previous []PreviousValue `json:"previous,omitempty"`
}

// PreviousValue is an earlier secret in a Value.
type PreviousValue struct {
	// SigningSecret is the "whsec_..." secret.
	SigningSecret string `json:"signing_secret"`
	// SigningSecretSHA256 is its hex SHA-256.
	SigningSecretSHA256 string `json:"signing_secret_sha256"`
	// ExpiresAt is when it stops being used, RFC 3339 UTC.
	ExpiresAt time.Time `json:"expires_at"`
}

// encode returns the SecretString of set.
func encode(set webhook.SecretSet) (string, error) {
	v := Value{SigningSecret: set.Current.Reveal(), SigningSecretSHA256: set.CurrentSHA256}
	for _, o := range set.Previous {
		v.Previous = append(v.Previous, PreviousValue{SigningSecret: o.Value.Reveal(), SigningSecretSHA256: o.SHA256, ExpiresAt: o.ExpiresAt.UTC()})
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode secret value: %w", err)
	}
	return string(b), nil
}

// Store is the Secrets Manager adapter.
type Store struct {
	client   *secretsmanager.Client
	prefix   string
	kmsKeyID string
}

// New returns a Store that names secrets under prefix (no trailing slash)
// and, if kmsKeyID is not empty, encrypts them with that customer-managed
// KMS key instead of the AWS-managed one.
func New(client *secretsmanager.Client, prefix, kmsKeyID string) *Store {
	return &Store{client: client, prefix: strings.TrimSuffix(prefix, "/"), kmsKeyID: kmsKeyID}
}

// Ref implements janitor.Secrets: the name of owner's webhook id's secret,
// which Secrets Manager takes wherever it takes an ARN.
func (s *Store) Ref(owner tenant.Tenant, id string) string {
	return fmt.Sprintf("%s/%s/%s/%s", s.prefix, owner.Mode, owner.Account, id)
}

// Create implements webhook.SecretStore. The SDK fills ClientRequestToken
// once per call and reuses it across its own retries, so a retried
// CreateSecret whose first try succeeded does not fail or make a second
// version.
func (s *Store) Create(ctx context.Context, sec webhook.NewSecret) (string, error) {
	value, err := encode(webhook.SecretSet{Current: sec.Value, CurrentSHA256: sec.SHA256})
	if err != nil {
		return "", err
	}
	in := &secretsmanager.CreateSecretInput{
		Name:         aws.String(s.Ref(sec.Owner, sec.WebhookID)),
		Description:  aws.String("Webhook signing secret for " + sec.WebhookID),
		SecretString: aws.String(value),
		Tags: []types.Tag{
			{Key: aws.String(TagAccount), Value: aws.String(sec.Owner.Account)},
			{Key: aws.String(TagMode), Value: aws.String(string(sec.Owner.Mode))},
			{Key: aws.String(TagWebhookID), Value: aws.String(sec.WebhookID)},
		},
	}
	if s.kmsKeyID != "" {
		in.KmsKeyId = aws.String(s.kmsKeyID)
	}
	out, err := s.client.CreateSecret(ctx, in)
	var exists *types.ResourceExistsException
	if errors.As(err, &exists) {
		return s.ownSecret(ctx, sec)
	}
	if err != nil {
		return "", awserr.Classify("secretsmanager CreateSecret "+sec.WebhookID, err)
	}
	return aws.ToString(out.ARN), nil
}

// ownSecret answers a create whose name is taken. Names are unique per
// webhook id, so the secret is almost surely the call's own first try,
// whose answer was lost and which Secrets Manager did not recognise from
// the ClientRequestToken (emulators do not). The stored hash tells.
func (s *Store) ownSecret(ctx context.Context, sec webhook.NewSecret) (string, error) {
	out, err := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.Ref(sec.Owner, sec.WebhookID))})
	if err != nil {
		return "", awserr.Classify("secretsmanager GetSecretValue "+sec.WebhookID, err)
	}
	var v Value
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &v); err != nil || v.SigningSecretSHA256 != sec.SHA256 {
		return "", fmt.Errorf("secretsmanager CreateSecret %s: another secret has its name", sec.WebhookID)
	}
	return aws.ToString(out.ARN), nil
}

// Get implements webhook.SecretStore.
func (s *Store) Get(ctx context.Context, ref string) (webhook.SecretSet, error) {
	out, err := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(ref)})
	if gone(err) {
		return webhook.SecretSet{}, webhook.ErrNotFound
	}
	if err != nil {
		return webhook.SecretSet{}, awserr.Classify("secretsmanager GetSecretValue", err)
	}
	var v Value
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &v); err != nil {
		return webhook.SecretSet{}, fmt.Errorf("decode secret value: %w", err) // the error never quotes the value
	}
	set := webhook.SecretSet{Current: webhook.SigningSecretOf(v.SigningSecret), CurrentSHA256: v.SigningSecretSHA256}
	for _, p := range v.Previous {
		set.Previous = append(set.Previous, webhook.OldSecret{Value: webhook.SigningSecretOf(p.SigningSecret), SHA256: p.SigningSecretSHA256, ExpiresAt: p.ExpiresAt})
	}
	return set, nil
}

// gone reports whether err says the secret does not exist or is being
// deleted: a force-deleted secret can answer InvalidRequestException
// ("marked for deletion") for a short while before it is gone.
func gone(err error) bool {
	var nf *types.ResourceNotFoundException
	var ir *types.InvalidRequestException
	return errors.As(err, &nf) || errors.As(err, &ir) && strings.Contains(ir.ErrorMessage(), "deletion")
}

// Put implements webhook.SecretStore with PutSecretValue: a new version
// becomes AWSCURRENT and the old one AWSPREVIOUS. The SDK fills
// ClientRequestToken once per call and keeps it across its retries, so a
// retry after a lost answer does not store a second version.
func (s *Store) Put(ctx context.Context, ref string, set webhook.SecretSet) error {
	value, err := encode(set)
	if err != nil {
		return err
	}
	_, err = s.client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId:     aws.String(ref),
		SecretString: aws.String(value),
	})
	if gone(err) {
		return webhook.ErrNotFound
	}
	return awserr.Classify("secretsmanager PutSecretValue", err)
}

// Delete implements webhook.SecretStore: it deletes at once, with no
// recovery window, so the name is free and nothing lingers.
func (s *Store) Delete(ctx context.Context, ref string) error {
	_, err := s.client.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{
		SecretId:                   aws.String(ref),
		ForceDeleteWithoutRecovery: aws.Bool(true),
	})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil
	}
	return awserr.Classify("secretsmanager DeleteSecret", err)
}
