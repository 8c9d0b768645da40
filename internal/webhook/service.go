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

// CompensationTimeout bounds the clean-up after a request's work failed or
// its outcome is unknown: the read-backs, the secret's deletion, the key's
// release, the lock's release. All the steps of one request share this one
// budget, however many run. Callers must leave at least this much time
// between their own deadline and the hard one (the Lambda deadline).
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

// Service runs the webhook operations: it owns the order of writes,
// idempotency, the recognition of writes that committed behind an error,
// and the compensation that keeps secrets and configs in step.
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

// budget is the clean-up budget of one request. Its context starts on first
// use, survives the cancellation of the request's context, and ends
// CompensationTimeout later; every clean-up step of the request uses it.
type budget struct {
	parent context.Context
	ctx    context.Context
	cancel context.CancelFunc
}

// newBudget returns the clean-up budget of the request running under ctx.
func newBudget(ctx context.Context) *budget { return &budget{parent: ctx} }

// context returns the clean-up context, starting the budget if needed.
func (b *budget) context() context.Context {
	if b.ctx == nil {
		b.ctx, b.cancel = context.WithTimeout(context.WithoutCancel(b.parent), CompensationTimeout)
	}
	return b.ctx
}

// stop releases the budget's timer.
func (b *budget) stop() {
	if b.cancel != nil {
		b.cancel()
	}
}

// WithSecret is the result of a create or a rotation: the webhook and the
// signing secret made for it, which is returned here and, for a replay,
// again.
type WithSecret struct {
	// Webhook is the webhook as stored after the request.
	Webhook Webhook
	// SigningSecret is the "whsec_..." secret, for this response only.
	SigningSecret string
	// Replayed says the result is that of an earlier request with the same
	// Idempotency-Key; nothing was done now.
	Replayed bool
}

// Create stores a new webhook for owner: first a SecretCheck for the
// janitor, then its signing secret, then in one transaction its config,
// the owner's count, the removal of the check and the completion of the
// idempotency claim. When idempotencyKey is not empty and was used before,
// the first request's result is returned instead (or an error if it had
// other parameters, is still running, or returned a secret that is no
// longer held).
func (s *Service) Create(ctx context.Context, owner tenant.Tenant, p CreateParams, idempotencyKey string) (WithSecret, error) {
	now := s.opts.Now().UTC()
	cleanup := newBudget(ctx)
	defer cleanup.stop()
	if idempotencyKey == "" {
		return s.create(ctx, cleanup, owner, p, now, nil)
	}
	claim, replay, err := s.claimKey(ctx, owner, idempotencyKey, p.Fingerprint(), now)
	if err != nil {
		return WithSecret{}, err
	}
	if replay != nil {
		return *replay, nil
	}
	created, err := s.create(ctx, cleanup, owner, p, now, &claim)
	if err != nil {
		s.release(cleanup, claim)
	}
	return created, err
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
		return nil, &apperr.Error{Kind: apperr.IdempotencyMismatch, Code: "idempotency_key_reused",
			Param:   "Idempotency-Key",
			Message: "this Idempotency-Key was already used with other parameters; use a new key for a new request"}
	}
	if !prior.Completed {
		return nil, &apperr.Error{Kind: apperr.IdempotencyInProgress, Code: "idempotency_key_in_use",
			Param:   "Idempotency-Key",
			Message: "a request with this Idempotency-Key is still in progress; retry after it finishes"}
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
		return nil, &apperr.Error{Kind: apperr.IdempotencyGone, Code: "idempotency_replay_unavailable",
			Param: "Idempotency-Key",
			Message: "the signing secret the first request with this Idempotency-Key returned has since been replaced " +
				"and is no longer valid, so that response cannot be shown again; use a new key"}
	}
	return &WithSecret{Webhook: prior.Webhook, SigningSecret: secret, Replayed: true}, nil
}

// create notes a SecretCheck, makes the secret and commits the
// transaction. When the transaction reports an error it finds out with a
// read whether it committed anyway, and compensates only if it did not.
func (s *Service) create(ctx context.Context, cleanup *budget, owner tenant.Tenant, p CreateParams, now time.Time, claim *Claim) (WithSecret, error) {
	id, err := NewID(now)
	if err != nil {
		return WithSecret{}, err
	}
	secret, err := NewSigningSecret()
	if err != nil {
		return WithSecret{}, err
	}
	// The check is noted before the secret exists, so that no crash, lost
	// response or failed clean-up can leave a secret the janitor does not
	// know of.
	check := SecretCheck{Kind: CheckOrphan, Owner: owner, WebhookID: id, At: now}
	if err := s.store.NoteCheck(ctx, check); err != nil {
		return WithSecret{}, fmt.Errorf("note secret check for %s: %w", id, err)
	}
	ref, err := s.secrets.Create(ctx, NewSecret{Owner: owner, WebhookID: id, Value: secret, SHA256: HashSecret(secret)})
	if err != nil {
		// A lost response may hide a created secret: the check stays for the janitor.
		return WithSecret{}, fmt.Errorf("create signing secret for %s: %w", id, err)
	}
	ts := now.Truncate(time.Second)
	w := Webhook{ID: id, Owner: owner, Settings: p, SecretRef: ref, CreatedAt: ts, UpdatedAt: ts, Version: 1}
	err = s.store.Create(ctx, w, s.opts.Limit, claim, HashSecret(secret))
	if err == nil {
		return WithSecret{Webhook: w, SigningSecret: secret}, nil
	}
	err = s.createError(id, err)
	// A timeout or a lost response can hide a commit, and a retry by the SDK
	// can fail on the very item its first try wrote. So whatever the error,
	// the secret is deleted only after a strongly consistent read shows that
	// no webhook holds it. The request's context may be what failed, so the
	// clean-up has its own budget.
	cctx := cleanup.context()
	exists, xerr := s.store.Exists(cctx, owner, id)
	switch {
	case xerr != nil:
		s.log.ErrorContext(ctx, "create outcome unknown: signing secret left for the janitor",
			"webhook_id", id, "secret_arn", ref, "error", xerr.Error())
		return WithSecret{}, errors.Join(err, fmt.Errorf("re-read webhook %s: %w", id, xerr))
	case exists:
		s.log.WarnContext(ctx, "create committed although its write reported an error",
			"webhook_id", id, "error", err.Error())
		return WithSecret{Webhook: w, SigningSecret: secret}, nil
	}
	if derr := s.secrets.Delete(cctx, ref); derr != nil {
		s.log.ErrorContext(ctx, "compensation failed: orphan signing secret left for the janitor",
			"webhook_id", id, "secret_arn", ref, "error", derr.Error())
		return WithSecret{}, errors.Join(err, fmt.Errorf("delete secret %s: %w", ref, derr))
	}
	if cerr := s.store.ClearCheck(cctx, check); cerr != nil {
		s.log.WarnContext(ctx, "secret check not cleared; the janitor clears it", "webhook_id", id, "error", cerr.Error())
	}
	return WithSecret{}, err
}

// createError says what a failed create transaction means for the caller.
func (s *Service) createError(id string, err error) error {
	switch {
	case errors.Is(err, ErrLimit):
		return LimitReached(s.opts.Limit)
	case errors.Is(err, ErrClaimLost):
		return &apperr.Error{Kind: apperr.IdempotencyInProgress, Code: "idempotency_key_in_use",
			Param:   "Idempotency-Key",
			Message: "another request took over this Idempotency-Key; retry to get its result", Cause: err}
	}
	return fmt.Errorf("store webhook %s: %w", id, err)
}

// outcomeUnknown reports whether err leaves open whether a write
// committed: a dependency failure (a timeout, a dropped connection, a
// throttled retry after a first try whose answer was lost) or an
// unexpected error, rather than an answer the domain understands.
func outcomeUnknown(err error) bool {
	k := apperr.KindOf(err)
	return k == apperr.Unavailable || k == apperr.Internal
}
