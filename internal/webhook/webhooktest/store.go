package webhooktest

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// Compile-time checks that Store implements the ports it fakes.
var (
	_ webhook.Store    = (*Store)(nil)
	_ webhook.KeyStore = (*Store)(nil)
)

// Store is an in-memory webhook.Store and webhook.KeyStore: webhooks, the
// per-owner counts, the janitor's secret checks and the idempotency
// records, all behind one lock, so that Create is one all-or-nothing
// transaction as in the table. It is safe for concurrent use.
//
// It honours the ports as follows. Create writes the webhook, the count,
// the removal of the create's check and the completion of its claim, or
// nothing (ErrIDTaken, ErrLimit, ErrClaimLost). Update and Delete are
// conditional on the version (ErrStale, also for a missing webhook, as in
// the table); Delete leaves a count that is already zero at zero.
// LockRotation fails with ErrLocked while another token's lock has not
// expired (a lock is live until and including its until time);
// UnlockRotation fails with ErrLockLost once the lock is another token's.
// ClaimKey takes a key unless its record is live: not past its ExpiresAt,
// and completed or in progress under another token whose lock has not
// expired. Checks are identified, as in the table, by kind, webhook id and the
// hour of At. Every read and write copies, so no caller shares memory with
// the store.
type Store struct {
	faults   *Faults
	mu       sync.Mutex
	webhooks map[webhookKey]*stored
	counts   map[tenant.Tenant]int
	checks   map[checkKey]webhook.SecretCheck
	keys     map[idemKey]*keyRecord
}

// webhookKey identifies a webhook.
type webhookKey struct {
	owner tenant.Tenant
	id    string
}

// stored is a webhook with its rotation lock.
type stored struct {
	w           webhook.Webhook
	lockToken   string
	lockedUntil time.Time
}

// checkKey identifies a secret check.
type checkKey struct {
	hour time.Time
	kind webhook.CheckKind
	id   string
}

// keyOf returns the key of c.
func keyOf(c webhook.SecretCheck) checkKey {
	return checkKey{c.At.UTC().Truncate(time.Hour), c.Kind, c.WebhookID}
}

// idemKey identifies an idempotency record.
type idemKey struct {
	owner tenant.Tenant
	key   string
}

// keyRecord is an idempotency record with the claim that holds it.
type keyRecord struct {
	rec         webhook.IdempotencyRecord
	token       string
	lockedUntil time.Time
	expiresAt   time.Time
}

// NewStore returns an empty Store whose calls go through faults, which may
// be nil.
func NewStore(faults *Faults) *Store {
	return &Store{
		faults:   faults,
		webhooks: map[webhookKey]*stored{},
		counts:   map[tenant.Tenant]int{},
		checks:   map[checkKey]webhook.SecretCheck{},
		keys:     map[idemKey]*keyRecord{},
	}
}

// clone returns a copy of w that shares no memory with it.
func clone(w webhook.Webhook) webhook.Webhook {
	w.Events = slices.Clone(w.Events)
	return w
}

// view is the webhook as the table shows it: held by a rotation while
// its lock is set, as the adapter reports.
func (st *stored) view() webhook.Webhook {
	w := clone(st.w)
	w.Rotating = st.lockToken != ""
	return w
}

// Create implements webhook.Store.
func (s *Store) Create(_ context.Context, w webhook.Webhook, limit int, claim *webhook.Claim, secretSHA256 string) error {
	return do(s.faults, "Store.Create", func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		k := webhookKey{w.Owner, w.ID}
		if s.webhooks[k] != nil {
			return webhook.ErrIDTaken
		}
		if s.counts[w.Owner] >= limit {
			return webhook.ErrLimit
		}
		if claim != nil && !s.holds(*claim) {
			return webhook.ErrClaimLost
		}
		s.webhooks[k] = &stored{w: clone(w)}
		s.counts[w.Owner]++
		delete(s.checks, keyOf(webhook.SecretCheck{Kind: webhook.CheckOrphan, Owner: w.Owner, WebhookID: w.ID, At: w.CreatedAt}))
		if claim != nil {
			s.complete(*claim, webhook.IdempotencyRecord{Webhook: w, SecretSHA256: secretSHA256})
		}
		return nil
	})
}

// Exists implements webhook.Store.
func (s *Store) Exists(_ context.Context, owner tenant.Tenant, id string) (bool, error) {
	return call(s.faults, "Store.Exists", func() (bool, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.webhooks[webhookKey{owner, id}] != nil, nil
	})
}

// Get implements webhook.Store.
func (s *Store) Get(_ context.Context, owner tenant.Tenant, id string) (webhook.Webhook, error) {
	return call(s.faults, "Store.Get", func() (webhook.Webhook, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		st := s.webhooks[webhookKey{owner, id}]
		if st == nil {
			return webhook.Webhook{}, webhook.ErrNotFound
		}
		return st.view(), nil
	})
}

// List implements webhook.Store: owner's webhooks by id, descending (ids
// sort by creation time), after startingAfter whether or not it exists.
func (s *Store) List(_ context.Context, owner tenant.Tenant, limit int, startingAfter string) (webhook.Page, error) {
	return call(s.faults, "Store.List", func() (webhook.Page, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		var all []webhook.Webhook
		for k, st := range s.webhooks {
			if k.owner == owner && (startingAfter == "" || k.id < startingAfter) {
				all = append(all, st.view())
			}
		}
		slices.SortFunc(all, func(a, b webhook.Webhook) int { return strings.Compare(b.ID, a.ID) })
		if len(all) > limit {
			return webhook.Page{Webhooks: all[:limit], HasMore: true}, nil
		}
		return webhook.Page{Webhooks: all}, nil
	})
}

// Update implements webhook.Store.
func (s *Store) Update(_ context.Context, w webhook.Webhook) error {
	return do(s.faults, "Store.Update", func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		st := s.webhooks[webhookKey{w.Owner, w.ID}]
		if st == nil || st.w.Version != w.Version-1 {
			return webhook.ErrStale
		}
		st.w.Settings = clone(w).Settings
		st.w.UpdatedAt, st.w.Version = w.UpdatedAt, w.Version
		return nil
	})
}

// Delete implements webhook.Store.
func (s *Store) Delete(_ context.Context, w webhook.Webhook, now time.Time) error {
	return do(s.faults, "Store.Delete", func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		k := webhookKey{w.Owner, w.ID}
		if st := s.webhooks[k]; st == nil || st.w.Version != w.Version {
			return webhook.ErrStale
		}
		delete(s.webhooks, k)
		s.counts[w.Owner] = max(s.counts[w.Owner]-1, 0)
		c := webhook.SecretCheck{Kind: webhook.CheckOrphan, Owner: w.Owner, WebhookID: w.ID, At: now}
		s.checks[keyOf(c)] = c
		return nil
	})
}

// LockRotation implements webhook.Store.
func (s *Store) LockRotation(_ context.Context, owner tenant.Tenant, id, token string, now, until time.Time) (webhook.Webhook, error) {
	return call(s.faults, "Store.LockRotation", func() (webhook.Webhook, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		st := s.webhooks[webhookKey{owner, id}]
		switch {
		case st == nil:
			return webhook.Webhook{}, webhook.ErrNotFound
		case st.lockToken != "" && !st.lockedUntil.Before(now) && st.lockToken != token:
			return webhook.Webhook{}, webhook.ErrLocked
		case st.lockToken != "" && !st.lockedUntil.Before(now):
			// This token's lock, still live: a retry whose first try took
			// it. As in the table, the retry does not extend it.
			return st.view(), nil
		}
		st.lockToken, st.lockedUntil = token, until
		return st.view(), nil
	})
}

// UnlockRotation implements webhook.Store.
func (s *Store) UnlockRotation(_ context.Context, owner tenant.Tenant, id, token string, now time.Time, changed bool) (webhook.Webhook, error) {
	return call(s.faults, "Store.UnlockRotation", func() (webhook.Webhook, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		st := s.webhooks[webhookKey{owner, id}]
		switch {
		case st == nil:
			return webhook.Webhook{}, webhook.ErrNotFound
		case st.lockToken != token:
			return webhook.Webhook{}, webhook.ErrLockLost
		}
		st.lockToken, st.lockedUntil = "", time.Time{}
		if changed {
			st.w.UpdatedAt, st.w.Version = now.UTC().Truncate(time.Second), st.w.Version+1
		}
		return st.view(), nil
	})
}

// NoteCheck implements webhook.Store.
func (s *Store) NoteCheck(_ context.Context, c webhook.SecretCheck) error {
	return do(s.faults, "Store.NoteCheck", func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.checks[keyOf(c)] = c
		return nil
	})
}

// ClearCheck implements webhook.Store.
func (s *Store) ClearCheck(_ context.Context, c webhook.SecretCheck) error {
	return do(s.faults, "Store.ClearCheck", func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.checks, keyOf(c))
		return nil
	})
}

// ClaimKey implements webhook.KeyStore.
func (s *Store) ClaimKey(_ context.Context, c webhook.Claim) (*webhook.IdempotencyRecord, error) {
	return call(s.faults, "Store.ClaimKey", func() (*webhook.IdempotencyRecord, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		k := idemKey{c.Owner, c.Key}
		r := s.keys[k]
		live := r != nil && !r.expiresAt.Before(c.At) &&
			(r.rec.Completed || r.token != c.Token && !r.lockedUntil.Before(c.At))
		if live {
			rec := r.rec
			rec.Webhook = clone(rec.Webhook)
			return &rec, nil
		}
		s.keys[k] = &keyRecord{rec: webhook.IdempotencyRecord{Fingerprint: c.Fingerprint},
			token: c.Token, lockedUntil: c.LockedUntil, expiresAt: c.ExpiresAt}
		return nil, nil
	})
}

// CompleteKey implements webhook.KeyStore.
func (s *Store) CompleteKey(_ context.Context, c webhook.Claim, rec webhook.IdempotencyRecord) error {
	return do(s.faults, "Store.CompleteKey", func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		r := s.keys[idemKey{c.Owner, c.Key}]
		if r != nil && r.rec.Completed && r.token == c.Token {
			return nil // a retry of this completion, whose first try committed
		}
		if !s.holds(c) {
			return webhook.ErrClaimLost
		}
		s.complete(c, rec)
		return nil
	})
}

// ReleaseKey implements webhook.KeyStore.
func (s *Store) ReleaseKey(_ context.Context, c webhook.Claim) error {
	return do(s.faults, "Store.ReleaseKey", func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.holds(c) {
			delete(s.keys, idemKey{c.Owner, c.Key})
		}
		return nil
	})
}

// holds reports whether c still holds its key in progress. s.mu is held.
func (s *Store) holds(c webhook.Claim) bool {
	r := s.keys[idemKey{c.Owner, c.Key}]
	return r != nil && !r.rec.Completed && r.token == c.Token
}

// complete marks c's record completed with rec, under c's fingerprint, as
// the table does. s.mu is held.
func (s *Store) complete(c webhook.Claim, rec webhook.IdempotencyRecord) {
	r := s.keys[idemKey{c.Owner, c.Key}]
	r.rec = webhook.IdempotencyRecord{Fingerprint: c.Fingerprint, Completed: true,
		Webhook: clone(rec.Webhook), SecretSHA256: rec.SecretSHA256, Result: slices.Clone(rec.Result)}
}

// Count returns owner's webhook count, for tests to inspect.
func (s *Store) Count(owner tenant.Tenant) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[owner]
}

// DueChecks returns the secret checks noted in hour (UTC) and not
// cleared, as the adapter's janitor.Checks does.
func (s *Store) DueChecks(_ context.Context, hour time.Time) ([]webhook.SecretCheck, error) {
	var due []webhook.SecretCheck
	for _, c := range s.Checks() {
		if c.At.UTC().Truncate(time.Hour).Equal(hour.UTC().Truncate(time.Hour)) {
			due = append(due, c)
		}
	}
	return due, nil
}

// Checks returns the secret checks noted and not cleared, ordered by At,
// for tests to inspect.
func (s *Store) Checks() []webhook.SecretCheck {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.SortedFunc(maps.Values(s.checks), func(a, b webhook.SecretCheck) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.WebhookID, b.WebhookID))
	})
}
