package webhook_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
	"github.com/docproc/webhooks/internal/webhook/webhooktest"
)

// The unit tests of Service run it over the in-memory fakes of its ports,
// with a fixed clock. Everything that names today's API (the params type,
// the secret's type, error codes) goes through the few helpers below.

// t0 is the fixed time the tests start at.
var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// owner and stranger are two accounts.
var (
	owner    = tenant.Tenant{Account: "acct_owner", Mode: tenant.Test}
	stranger = tenant.Tenant{Account: "acct_stranger", Mode: tenant.Test}
)

// errUnavailable is a dependency failure: a write that reports it may or
// may not have committed.
var errUnavailable = fmt.Errorf("fake: %w: connection reset", apperr.ErrUnavailable)

// clock is a fixed time that a test moves on by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// advance moves the clock on by d.
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is a Service over fakes that share one Faults.
type fixture struct {
	t       *testing.T
	ctx     context.Context
	svc     *webhook.Service
	store   *webhooktest.Store
	secrets *webhooktest.SecretStore
	faults  *webhooktest.Faults
	clock   *clock
}

// newFixture returns a fixture whose Service has opts, with its clock.
func newFixture(t *testing.T, opts webhook.Options) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: t.Context(), faults: &webhooktest.Faults{}, clock: &clock{now: t0}}
	f.store = webhooktest.NewStore(f.faults)
	f.secrets = webhooktest.NewSecretStore(f.faults)
	opts.Now = f.clock.Now
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	f.svc = webhook.NewService(f.store, f.store, f.secrets, log, opts)
	return f
}

// settings returns valid create params for the endpoint url.
func settings(url string) webhook.Settings {
	return webhook.Settings{URL: url, Events: slices.Clone(webhook.DefaultEvents),
		IsActive: true, RetryEnabled: true, MaxRetries: webhook.DefaultMaxRetries}
}

// secretOf returns the signing secret a create or rotation answered.
func secretOf(r webhook.WithSecret) webhook.SigningSecret { return r.SigningSecret }

// hookURL is the endpoint of the webhooks that create makes.
const hookURL = "https://hooks.example.com/a"

// create creates a webhook at hookURL for owner with idempotencyKey,
// failing the test on an error.
func (f *fixture) create(idempotencyKey string) webhook.WithSecret {
	f.t.Helper()
	r, err := f.svc.Create(f.ctx, owner, settings(hookURL), idempotencyKey)
	if err != nil {
		f.t.Fatalf("create: %v", err)
	}
	return r
}

// anotherClaim is another request's claim, made at at, on owner's key for
// a create with params p.
func anotherClaim(key string, p webhook.Settings, at time.Time) webhook.Claim {
	return webhook.Claim{Owner: owner, Key: key, Fingerprint: p.Fingerprint(), Token: "another",
		At: at, LockedUntil: at.Add(webhook.DefaultLockTTL), ExpiresAt: at.Add(webhook.IdempotencyTTL)}
}

// rotate rotates w's secret with grace, failing the test on an error.
func (f *fixture) rotate(w webhook.Webhook, grace time.Duration) webhook.WithSecret {
	f.t.Helper()
	r, err := f.svc.RotateSecret(f.ctx, owner, w.ID, grace, "")
	if err != nil {
		f.t.Fatalf("rotate: %v", err)
	}
	return r
}

// secretSet returns the secrets stored at ref, failing the test on an error.
func (f *fixture) secretSet(ref string) webhook.SecretSet {
	f.t.Helper()
	set, err := f.secrets.Get(f.ctx, ref)
	if err != nil {
		f.t.Fatalf("read secret %s: %v", ref, err)
	}
	return set
}

// stored returns owner's webhook id as stored, failing the test on an error.
func (f *fixture) stored(id string) webhook.Webhook {
	f.t.Helper()
	w, err := f.store.Get(f.ctx, owner, id)
	if err != nil {
		f.t.Fatalf("read webhook %s: %v", id, err)
	}
	return w
}

// calls returns how often method was called.
func (f *fixture) calls(method string) int {
	n := 0
	for _, c := range f.faults.Calls() {
		if c == method {
			n++
		}
	}
	return n
}

// codeOf returns the apperr code err carries, or "".
func codeOf(err error) string {
	if e := apperr.As(err); e != nil {
		return e.Code
	}
	return ""
}

// wantCode fails the test unless err carries the apperr code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if codeOf(err) != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
}

// wantChecks fails the test unless the noted secret checks are want.
func (f *fixture) wantChecks(want ...webhook.SecretCheck) {
	f.t.Helper()
	got := f.store.Checks()
	if !slices.EqualFunc(got, want, func(a, b webhook.SecretCheck) bool {
		return a.Kind == b.Kind && a.Owner == b.Owner && a.WebhookID == b.WebhookID && a.At.Equal(b.At)
	}) {
		f.t.Fatalf("secret checks = %+v, want %+v", got, want)
	}
}

// wantRefs fails the test unless the stored secrets are exactly those at refs.
func (f *fixture) wantRefs(refs ...string) {
	f.t.Helper()
	if got := f.secrets.Refs(); !slices.Equal(got, slices.Sorted(slices.Values(refs))) {
		f.t.Fatalf("stored secrets = %q, want %q", got, refs)
	}
}

// sameOldSecret reports whether a and b are the same earlier secret with
// the same expiry.
func sameOldSecret(a, b webhook.OldSecret) bool {
	return a.Value.Equal(b.Value) && a.SHA256 == b.SHA256 && a.ExpiresAt.Equal(b.ExpiresAt)
}
