package webhook

import (
	"context"
	"log/slog"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
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
	// SigningSecret is the secret, for this response only.
	SigningSecret SigningSecret
	// Replayed says the result is that of an earlier request with the same
	// Idempotency-Key; nothing was done now.
	Replayed bool
}

// outcomeUnknown reports whether err leaves open whether a write
// committed: a dependency failure (a timeout, a dropped connection, a
// throttled retry after a first try whose answer was lost) or an
// unexpected error, rather than an answer the domain understands.
func outcomeUnknown(err error) bool {
	k := apperr.KindOf(err)
	return k == apperr.Unavailable || k == apperr.Internal
}
