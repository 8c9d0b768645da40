package webhook

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/docproc/webhooks/internal/tenant"
)

// MaxIdempotencyKeyLen is the longest Idempotency-Key accepted.
const MaxIdempotencyKeyLen = 255

// Lifetimes of an idempotency record.
const (
	// IdempotencyTTL is how long a key is remembered after its first use.
	IdempotencyTTL = 24 * time.Hour
	// DefaultLockTTL is how long a key stays locked by a request that is
	// still running. It exceeds the function timeout, so a live request
	// never loses its lock; after it, a retry may take the key over.
	DefaultLockTTL = 30 * time.Second
)

// ValidateIdempotencyKey checks an Idempotency-Key header value: 1 to 255
// printable ASCII characters.
func ValidateIdempotencyKey(key string) error {
	if len(key) == 0 || len(key) > MaxIdempotencyKeyLen {
		return keyInvalid()
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return keyInvalid()
		}
	}
	return nil
}

// Fingerprint returns the hex SHA-256 of the parameters in canonical form,
// after defaults: two requests that mean the same webhook have the same
// fingerprint however they were spelled. A setting added later is left
// out of the form while it has its default (rate_limit), so a request
// that does not use it keeps the fingerprint that records made before it
// existed hold.
func (p Settings) Fingerprint() string {
	canonical, _ := json.Marshal(struct { // fixed field order; cannot fail
		URL          string      `json:"url"`
		Events       []EventType `json:"events"`
		IsActive     bool        `json:"is_active"`
		RetryEnabled bool        `json:"retry_enabled"`
		MaxRetries   int         `json:"max_retries"`
		RateLimit    int         `json:"rate_limit,omitempty"`
	}{p.URL, p.Events, p.IsActive, p.RetryEnabled, p.MaxRetries, p.RateLimit})
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:])
}

// rotateFingerprint identifies a rotation request: the webhook and the
// grace period. Its canonical form has other members than a create's, so
// the same key used for a create and a rotation is a reuse.
func rotateFingerprint(id string, grace time.Duration) string {
	canonical, _ := json.Marshal(struct { // fixed field order; cannot fail
		Operation   string `json:"operation"`
		WebhookID   string `json:"webhook_id"`
		GraceSecond int64  `json:"grace_period_seconds"`
	}{"rotate_secret", id, int64(grace / time.Second)})
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:])
}

// Claim is one request's hold on an Idempotency-Key.
type Claim struct {
	// Owner scopes the key: the same key under another account or mode is
	// another key.
	Owner tenant.Tenant
	// Key is the Idempotency-Key header value.
	Key string
	// Fingerprint identifies the request's parameters.
	Fingerprint string
	// Token identifies the request holding the lock; only it may complete
	// or release the claim.
	Token string
	// At is when the claim was made.
	At time.Time
	// LockedUntil is when another request may take the key over if this one
	// has neither completed nor released it.
	LockedUntil time.Time
	// ExpiresAt is when the record is forgotten (DynamoDB TTL).
	ExpiresAt time.Time
}

// newClaim returns a claim on key made at now.
func newClaim(owner tenant.Tenant, key, fingerprint string, now time.Time, lock time.Duration) Claim {
	return Claim{
		Owner: owner, Key: key, Fingerprint: fingerprint, Token: newToken(),
		At: now, LockedUntil: now.Add(lock), ExpiresAt: now.Add(IdempotencyTTL),
	}
}

// newToken returns a random token that identifies one holder of a lock.
func newToken() string { return rand.Text() }

// IdempotencyRecord is what is stored for a key that is already in use.
// It never holds a secret: a replay finds the secret its first response
// carried by its hash, among those the webhook still holds.
type IdempotencyRecord struct {
	// Fingerprint identifies the parameters of the first request.
	Fingerprint string
	// Completed says whether the first request committed its result.
	Completed bool
	// Webhook is the webhook as the first response showed it; set when
	// Completed.
	Webhook Webhook
	// SecretSHA256 is the hash of the signing secret the first response
	// carried; set when Completed.
	SecretSHA256 string
	// Result is the first response of an operation that returns no
	// secret (see Once), as that operation encoded it; set when Completed.
	Result []byte
}

// Once runs an acting request at most once per Idempotency-Key: run is
// called unless the key (scoped to owner) was used before. A key used
// with the same fingerprint returns the first result again, replayed; one
// used with another fingerprint, or still held by its first request, is
// an error. Results must hold no secret: they are stored as they are. An
// empty key runs run without any record.
func (s *Service) Once(ctx context.Context, owner tenant.Tenant, key, fingerprint string, run func() ([]byte, error)) (result []byte, replayed bool, err error) {
	if key == "" {
		result, err = run()
		return result, false, err
	}
	cleanup := newBudget(ctx)
	defer cleanup.stop()
	c := newClaim(owner, key, fingerprint, s.opts.Now().UTC(), s.opts.LockTTL)
	prior, err := s.keys.ClaimKey(ctx, c)
	if err != nil {
		return nil, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	if prior != nil {
		switch {
		case prior.Fingerprint != c.Fingerprint:
			return nil, false, keyReused()
		case !prior.Completed:
			return nil, false, keyInUse(nil)
		}
		return prior.Result, true, nil
	}
	result, err = run()
	if err != nil {
		s.release(cleanup, c)
		return nil, false, err
	}
	rec := IdempotencyRecord{Fingerprint: c.Fingerprint, Completed: true, Result: result}
	if err := s.keys.CompleteKey(cleanup.context(), c, rec); err != nil {
		s.log.WarnContext(ctx, "request committed but its Idempotency-Key was not recorded; once its lock expires a retry with it runs again",
			"error", err.Error())
	}
	return result, false, nil
}

// Fingerprint returns the hex SHA-256 of parts, each length-prefixed: an
// operation's name and its parameters in canonical form.
func Fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// release frees a claim whose request failed, so that a retry runs at
// once. The release is conditional on the claim still being this
// request's and in progress, so it is a no-op if the request did commit;
// if it fails, the lock simply expires.
func (s *Service) release(cleanup *budget, c Claim) {
	if err := s.keys.ReleaseKey(cleanup.context(), c); err != nil {
		s.log.WarnContext(cleanup.parent, "idempotency key not released; it unlocks when its lock expires",
			"locked_until", c.LockedUntil, "error", err.Error())
	}
}

// claimKey takes idempotencyKey for a request whose parameters have
// fingerprint. When the key was used before it returns the first
// response as replay instead, or the error that says why it cannot be
// given.
func (s *Service) claimKey(ctx context.Context, owner tenant.Tenant, key, fingerprint string, now time.Time) (c Claim, replay *WithSecret, err error) {
	c = newClaim(owner, key, fingerprint, now, s.opts.LockTTL)
	prior, err := s.keys.ClaimKey(ctx, c)
	if err != nil {
		return c, nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	if prior == nil {
		return c, nil, nil
	}
	replay, err = s.replay(ctx, c, prior)
	return c, replay, err
}

// replay answers a request whose key has a record already: exactly the
// first response, its secret found by hash among the secrets the webhook
// still holds. A secret no longer held is an error, never another secret.
func (s *Service) replay(ctx context.Context, c Claim, prior *IdempotencyRecord) (*WithSecret, error) {
	if prior.Fingerprint != c.Fingerprint {
		return nil, keyReused()
	}
	if !prior.Completed {
		return nil, keyInUse(nil)
	}
	set, err := s.secrets.Get(ctx, prior.Webhook.SecretRef)
	if errors.Is(err, ErrNotFound) {
		return nil, NotFound(prior.Webhook.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("replay %s: read signing secret: %w", prior.Webhook.ID, err)
	}
	secret, ok := set.Find(prior.SecretSHA256, s.opts.Now())
	if !ok {
		return nil, replayGone()
	}
	return &WithSecret{Webhook: prior.Webhook, SigningSecret: secret, Replayed: true}, nil
}
