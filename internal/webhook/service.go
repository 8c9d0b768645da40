package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/tenant"
)

// DefaultLimit is the default number of webhooks one account may hold in
// one mode (Stripe's number).
const DefaultLimit = 16

// CompensationTimeout bounds the clean-up after a failed create: the
// consistent re-read, the secret's deletion and the key's release. Callers
// must leave at least this much time between their own deadline and the
// hard one (the Lambda deadline).
const CompensationTimeout = 3 * time.Second

// Options tune a Service. Zero values take the defaults.
type Options struct {
	// Limit is how many webhooks one account may hold in one mode.
	Limit int
	// LockTTL is how long an Idempotency-Key stays locked by a running request.
	LockTTL time.Duration
	// Now returns the current time.
	Now func() time.Time
}

// Service creates webhooks: it owns the order of writes, idempotency and
// the compensation that keeps secrets and configs in step.
type Service struct {
	store   Store
	keys    KeyStore
	secrets SecretStore
	log     *slog.Logger
	opts    Options
}

// NewService returns a Service over the given ports. log receives
// compensation failures; it must not be nil.
func NewService(store Store, keys KeyStore, secrets SecretStore, log *slog.Logger, opts Options) *Service {
	if opts.Limit <= 0 {
		opts.Limit = DefaultLimit
	}
	if opts.LockTTL <= 0 {
		opts.LockTTL = DefaultLockTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{store: store, keys: keys, secrets: secrets, log: log, opts: opts}
}

// Created is the result of a create: the stored webhook and its signing
// secret, which is returned here and, for a replay, again.
type Created struct {
	// Webhook is the stored configuration.
	Webhook Webhook
	// SigningSecret is the "whsec_..." secret, for the create response only.
	SigningSecret string
	// Replayed says the result is that of an earlier request with the same
	// Idempotency-Key; nothing new was created.
	Replayed bool
}

// Create stores a new webhook for owner: first its signing secret, then in
// one transaction its config, the owner's count and the completion of the
// idempotency claim. When idempotencyKey is not empty and was used before,
// the first request's result is returned instead (or an error if it had
// other parameters or is still running).
func (s *Service) Create(ctx context.Context, owner tenant.Tenant, p CreateParams, idempotencyKey string) (Created, error) {
	now := s.opts.Now().UTC()
	if idempotencyKey == "" {
		return s.create(ctx, owner, p, now, nil)
	}
	claim := newClaim(owner, idempotencyKey, p.Fingerprint(), now, s.opts.LockTTL)
	prior, err := s.keys.ClaimKey(ctx, claim)
	if err != nil {
		return Created{}, fmt.Errorf("claim idempotency key: %w", err)
	}
	if prior != nil {
		return s.replay(ctx, claim, prior)
	}
	created, err := s.create(ctx, owner, p, now, &claim)
	if err != nil {
		// Free the key for an immediate retry. The release is conditional on
		// the claim still being ours and in progress, so it is a no-op if the
		// create did commit; if it fails, the lock simply expires.
		cctx, cancel := compensationContext(ctx)
		defer cancel()
		if rerr := s.keys.ReleaseKey(cctx, claim); rerr != nil {
			s.log.WarnContext(ctx, "idempotency key not released; it unlocks when its lock expires",
				"locked_until", claim.LockedUntil, "error", rerr.Error())
		}
	}
	return created, err
}

// replay answers a request whose key has a record already.
func (s *Service) replay(ctx context.Context, c Claim, prior *IdempotencyRecord) (Created, error) {
	if prior.Fingerprint != c.Fingerprint {
		return Created{}, &apperr.Error{Kind: apperr.IdempotencyMismatch, Code: "idempotency_key_reused",
			Param:   "Idempotency-Key",
			Message: "this Idempotency-Key was already used with other parameters; use a new key for a new request"}
	}
	if !prior.Completed {
		return Created{}, &apperr.Error{Kind: apperr.IdempotencyInProgress, Code: "idempotency_key_in_use",
			Param:   "Idempotency-Key",
			Message: "a request with this Idempotency-Key is still in progress; retry after it finishes"}
	}
	set, err := s.secrets.Get(ctx, prior.Webhook.SecretRef)
	if err != nil {
		return Created{}, fmt.Errorf("replay %s: read signing secret: %w", prior.Webhook.ID, err)
	}
	return Created{Webhook: prior.Webhook, SigningSecret: set.Current, Replayed: true}, nil
}

// create makes the secret and commits the transaction, compensating when
// the transaction is known not to have committed.
func (s *Service) create(ctx context.Context, owner tenant.Tenant, p CreateParams, now time.Time, claim *Claim) (Created, error) {
	id, err := NewID(now)
	if err != nil {
		return Created{}, err
	}
	secret, err := NewSigningSecret()
	if err != nil {
		return Created{}, err
	}
	ref, err := s.secrets.Create(ctx, NewSecret{Owner: owner, WebhookID: id, Value: secret, SHA256: HashSecret(secret)})
	if err != nil {
		return Created{}, fmt.Errorf("create signing secret for %s: %w", id, err)
	}
	ts := now.Truncate(time.Second)
	w := Webhook{ID: id, Owner: owner, Settings: p, SecretRef: ref, CreatedAt: ts, UpdatedAt: ts, Version: 1}
	err = s.store.Create(ctx, w, s.opts.Limit, claim)
	if err == nil {
		return Created{Webhook: w, SigningSecret: secret}, nil
	}
	// A timeout or a lost response can hide a commit, and a retry by the SDK
	// can fail on the very item its first try wrote. So whatever the error,
	// the secret is deleted only after a strongly consistent read shows that
	// no webhook holds it. The request's context may be what failed, so the
	// clean-up gets its own short deadline.
	cctx, cancel := compensationContext(ctx)
	defer cancel()
	exists, xerr := s.store.Exists(cctx, owner, id)
	switch {
	case xerr != nil:
		s.log.ErrorContext(ctx, "create outcome unknown: signing secret left for the janitor",
			"webhook_id", id, "secret_arn", ref, "error", xerr.Error())
		return Created{}, errors.Join(fmt.Errorf("store webhook %s: %w", id, err),
			fmt.Errorf("re-read webhook %s: %w", id, xerr))
	case exists:
		s.log.WarnContext(ctx, "create committed although its write reported an error",
			"webhook_id", id, "error", err.Error())
		return Created{Webhook: w, SigningSecret: secret}, nil
	}
	if derr := s.secrets.Delete(cctx, ref); derr != nil {
		s.log.ErrorContext(ctx, "compensation failed: orphan signing secret left behind",
			"webhook_id", id, "secret_arn", ref, "error", derr.Error())
		return Created{}, errors.Join(fmt.Errorf("store webhook %s: %w", id, err),
			fmt.Errorf("delete secret %s: %w", ref, derr))
	}
	return Created{}, fmt.Errorf("store webhook %s (secret deleted): %w", id, err)
}

// compensationContext returns a context for clean-up that survives the
// cancellation of ctx but is bounded by CompensationTimeout.
func compensationContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), CompensationTimeout)
}
