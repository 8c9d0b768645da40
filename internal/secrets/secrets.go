// Package secrets keeps webhook signing secrets in AWS Secrets Manager.
//
// Each webhook has one secret named <prefix>/<mode>/<account>/<webhook id>,
// tagged with account, mode and webhook id. Its value is JSON holding the
// signing secret (the deliverer needs it to compute HMACs) and its SHA-256
// (support can confirm which secret a customer holds without reading it).
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

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/awsconf"
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
	v := Value{SigningSecret: set.Current, SigningSecretSHA256: set.CurrentSHA256}
	for _, o := range set.Previous {
		v.Previous = append(v.Previous, PreviousValue{SigningSecret: o.Value, SigningSecretSHA256: o.SHA256, ExpiresAt: o.ExpiresAt.UTC()})
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
	// PageSize is how many secrets List asks for at a time (1-100).
	PageSize int32
}

// New returns a Store that names secrets under prefix (no trailing slash)
// and, if kmsKeyID is not empty, encrypts them with that customer-managed
// KMS key instead of the AWS-managed one.
func New(client *secretsmanager.Client, prefix, kmsKeyID string) *Store {
	return &Store{client: client, prefix: strings.TrimSuffix(prefix, "/"), kmsKeyID: kmsKeyID, PageSize: 100}
}

// Name returns the secret name for a webhook.
func (s *Store) Name(sec webhook.NewSecret) string {
	return fmt.Sprintf("%s/%s/%s/%s", s.prefix, sec.Owner.Mode, sec.Owner.Account, sec.WebhookID)
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
		Name:         aws.String(s.Name(sec)),
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
	if err != nil {
		return "", awsconf.Classify("secretsmanager CreateSecret "+sec.WebhookID, err)
	}
	return aws.ToString(out.ARN), nil
}

// Get implements webhook.SecretStore. A secret that does not exist (its
// webhook was deleted) is an apperr NotFound.
func (s *Store) Get(ctx context.Context, ref string) (webhook.SecretSet, error) {
	out, err := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(ref)})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return webhook.SecretSet{}, &apperr.Error{Kind: apperr.NotFound, Code: "resource_missing",
			Message: "the webhook's signing secret no longer exists; the webhook was deleted", Cause: err}
	}
	if err != nil {
		return webhook.SecretSet{}, awsconf.Classify("secretsmanager GetSecretValue", err)
	}
	var v Value
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &v); err != nil {
		return webhook.SecretSet{}, fmt.Errorf("decode secret value: %w", err) // the error never quotes the value
	}
	set := webhook.SecretSet{Current: v.SigningSecret, CurrentSHA256: v.SigningSecretSHA256}
	for _, p := range v.Previous {
		set.Previous = append(set.Previous, webhook.OldSecret{Value: p.SigningSecret, SHA256: p.SigningSecretSHA256, ExpiresAt: p.ExpiresAt})
	}
	return set, nil
}

// Put implements webhook.SecretStore with PutSecretValue: a new version
// becomes AWSCURRENT and the old one AWSPREVIOUS.
func (s *Store) Put(ctx context.Context, ref string, set webhook.SecretSet) error {
	value, err := encode(set)
	if err != nil {
		return err
	}
	_, err = s.client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId:     aws.String(ref),
		SecretString: aws.String(value),
	})
	return awsconf.Classify("secretsmanager PutSecretValue", err)
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
	return awsconf.Classify("secretsmanager DeleteSecret", err)
}

// List implements janitor.Secrets. It asks Secrets Manager for names under
// the prefix and checks the prefix again itself, since a name filter is a
// prefix match on words that an emulator may not honour.
func (s *Store) List(ctx context.Context, fn func([]janitor.Secret) error) error {
	p := secretsmanager.NewListSecretsPaginator(s.client, &secretsmanager.ListSecretsInput{
		MaxResults: aws.Int32(s.PageSize),
		Filters:    []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{s.prefix + "/"}}},
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return awsconf.Classify("secretsmanager ListSecrets", err)
		}
		var page []janitor.Secret
		for _, e := range out.SecretList {
			sec, ok := s.parse(aws.ToString(e.Name))
			if !ok {
				continue
			}
			sec.Ref, sec.CreatedAt, sec.ChangedAt = aws.ToString(e.ARN), aws.ToTime(e.CreatedDate), aws.ToTime(e.LastChangedDate)
			page = append(page, sec)
		}
		if err := fn(page); err != nil {
			return err
		}
	}
	return nil
}

// parse reads owner and webhook id from a name made by Name.
func (s *Store) parse(name string) (janitor.Secret, bool) {
	rest, ok := strings.CutPrefix(name, s.prefix+"/")
	if !ok {
		return janitor.Secret{}, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || !webhook.ValidID(parts[2]) {
		return janitor.Secret{}, false
	}
	owner, err := tenant.New(parts[1], tenant.Mode(parts[0]))
	if err != nil {
		return janitor.Secret{}, false
	}
	return janitor.Secret{Name: name, Owner: owner, WebhookID: parts[2]}, true
}
