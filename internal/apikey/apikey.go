// Package apikey parses, issues and checks the API keys customers
// authenticate with ("dk_test_..." and "dk_live_...").
//
// A raw key is never stored: the store holds only its SHA-256, and lookups
// are by that hash. The key's format is checked before any store call, so
// garbage never costs a round trip.
package apikey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/tenant"
)

// Key prefixes. The prefix names the mode.
const (
	TestPrefix = "dk_test_"
	LivePrefix = "dk_live_"
)

// Lengths of the random part of a key.
const (
	minSecretLen = 24
	maxSecretLen = 64
	// issuedSecretLen is the random part of keys this package issues:
	// 32 base62 characters, about 190 bits.
	issuedSecretLen = 32
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// ErrNotFound is returned by a Store when no key has the given hash.
var ErrNotFound = errors.New("api key not found")

// Key is a well-formed raw API key. Its String method hides the secret part.
type Key struct {
	raw  string
	mode tenant.Mode
}

// Parse checks a raw key's format: a known prefix and 24-64 base62
// characters. It does no I/O.
func Parse(raw string) (Key, error) {
	var mode tenant.Mode
	var rest string
	switch {
	case strings.HasPrefix(raw, TestPrefix):
		mode, rest = tenant.Test, raw[len(TestPrefix):]
	case strings.HasPrefix(raw, LivePrefix):
		mode, rest = tenant.Live, raw[len(LivePrefix):]
	default:
		return Key{}, errors.New("api key must start with dk_test_ or dk_live_")
	}
	if len(rest) < minSecretLen || len(rest) > maxSecretLen {
		return Key{}, fmt.Errorf("api key must have %d-%d characters after its prefix", minSecretLen, maxSecretLen)
	}
	if strings.Trim(rest, base62) != "" {
		return Key{}, errors.New("api key may only hold letters and digits after its prefix")
	}
	return Key{raw: raw, mode: mode}, nil
}

// Generate returns a new random key for mode.
func Generate(mode tenant.Mode) (Key, error) {
	prefix := TestPrefix
	if mode == tenant.Live {
		prefix = LivePrefix
	}
	// rand.Text would give base32; base62 by rejection sampling keeps keys short.
	b := make([]byte, 0, issuedSecretLen)
	buf := make([]byte, 64)
	for len(b) < issuedSecretLen {
		if _, err := rand.Read(buf); err != nil {
			return Key{}, fmt.Errorf("generate api key: %w", err)
		}
		for _, c := range buf {
			if c < 248 && len(b) < issuedSecretLen { // 248 = 4*62: no modulo bias
				b = append(b, base62[c%62])
			}
		}
	}
	return Parse(prefix + string(b))
}

// Mode is the mode the key's prefix names.
func (k Key) Mode() tenant.Mode { return k.mode }

// Raw returns the whole key, for showing once to the person it is issued to.
func (k Key) Raw() string { return k.raw }

// Hash returns the hex SHA-256 of the key: its stored form and lookup id.
func (k Key) Hash() string {
	sum := sha256.Sum256([]byte(k.raw))
	return hex.EncodeToString(sum[:])
}

// Redacted returns the prefix and last four characters, safe for logs
// and listings.
func (k Key) Redacted() string {
	if k.raw == "" {
		return ""
	}
	return k.raw[:len(TestPrefix)] + "..." + k.raw[len(k.raw)-4:]
}

// String returns Redacted, so a Key printed by mistake leaks nothing.
func (k Key) String() string { return k.Redacted() }

// GoString returns Redacted too, so %#v leaks nothing either.
func (k Key) GoString() string { return k.Redacted() }

// LogValue keeps the raw key out of structured logs.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.Redacted()) }

// Record is what the store knows about a key.
type Record struct {
	// Hash is the hex SHA-256 of the raw key.
	Hash string
	// Owner is the account and mode the key acts for.
	Owner tenant.Tenant
	// Hint is the key's Redacted form, for listings.
	Hint string
	// Active is false once the key is revoked.
	Active bool
	// CreatedAt is when the key was issued.
	CreatedAt time.Time
	// RevokedAt is when the key was revoked; zero while it is active.
	RevokedAt time.Time
}

// Store keeps API keys: it looks them up by hash, saves new ones, lists an
// account's and revokes them.
type Store interface {
	Lookup
	// PutAPIKey saves a record, replacing any with the same hash.
	PutAPIKey(ctx context.Context, r Record) error
	// ListAPIKeys returns every key of account, in both modes, oldest first.
	ListAPIKeys(ctx context.Context, account string) ([]Record, error)
	// RevokeAPIKey marks the key with hash revoked at at, or ErrNotFound.
	// Revoking a revoked key keeps its first revocation time.
	RevokeAPIKey(ctx context.Context, hash string, at time.Time) error
}

// Authenticator turns a raw key from a request into a tenant.
type Authenticator struct {
	store Lookup
}

// NewAuthenticator returns an Authenticator that looks keys up in store.
func NewAuthenticator(store Lookup) *Authenticator {
	return &Authenticator{store: store}
}

// unauthenticated builds the caller-facing 401 error.
func unauthenticated(code, msg string) *apperr.Error {
	return apperr.New(apperr.Unauthenticated, code, msg)
}

// Authenticate checks raw and returns the tenant it acts for. Missing,
// malformed, unknown and revoked keys give an apperr Unauthenticated error;
// a store failure is returned wrapped, as it is not the caller's fault.
func (a *Authenticator) Authenticate(ctx context.Context, raw string) (tenant.Tenant, error) {
	if raw == "" {
		return tenant.Tenant{}, unauthenticated(apperr.CodeAPIKeyMissing,
			"no API key given; send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
	}
	key, err := Parse(raw)
	if err != nil {
		return tenant.Tenant{}, unauthenticated(apperr.CodeAPIKeyInvalid, "the API key is malformed: "+err.Error())
	}
	rec, err := a.store.LookupAPIKey(ctx, key.Hash())
	switch {
	case errors.Is(err, ErrNotFound):
		return tenant.Tenant{}, unauthenticated(apperr.CodeAPIKeyInvalid, "the API key is not valid")
	case err != nil:
		return tenant.Tenant{}, fmt.Errorf("look up api key %s: %w", key.Redacted(), err)
	case !rec.Active:
		return tenant.Tenant{}, unauthenticated(apperr.CodeAPIKeyRevoked, "the API key has been revoked")
	case rec.Owner.Mode != key.Mode():
		// A stored record whose mode disagrees with the key's prefix is
		// corrupt; refuse rather than cross modes.
		return tenant.Tenant{}, unauthenticated(apperr.CodeAPIKeyInvalid, "the API key is not valid")
	}
	return rec.Owner, nil
}

// Issue generates a key for owner, stores its hash and returns the key.
// The raw key exists only in the return value.
func Issue(ctx context.Context, store Store, owner tenant.Tenant, now time.Time) (Key, error) {
	key, err := Generate(owner.Mode)
	if err != nil {
		return Key{}, err
	}
	return key, Register(ctx, store, key, owner, now)
}

// Register stores the hash of an existing key for owner, for seeding a
// known development key.
func Register(ctx context.Context, store Store, key Key, owner tenant.Tenant, now time.Time) error {
	if err := owner.Validate(); err != nil {
		return fmt.Errorf("register api key: %w", err)
	}
	if key.Mode() != owner.Mode {
		return fmt.Errorf("register api key: key is for %s mode, owner is %s", key.Mode(), owner.Mode)
	}
	rec := Record{Hash: key.Hash(), Owner: owner, Hint: key.Redacted(), Active: true, CreatedAt: now.UTC()}
	if err := store.PutAPIKey(ctx, rec); err != nil {
		return fmt.Errorf("register api key %s: %w", key.Redacted(), err)
	}
	return nil
}

// Lookup finds API key records by hash.
type Lookup interface {
	// LookupAPIKey returns the record for hash, or ErrNotFound.
	LookupAPIKey(ctx context.Context, hash string) (Record, error)
}

// Cache remembers looked-up key records for a short time, so a warm
// function does not read the table for every request. The trade-off: a key
// revoked in the table keeps working on a warm instance until its entry
// expires, at most TTL later. Only found records are cached (a revoked one
// too, so it stays revoked), and at most MaxEntries of them.
type Cache struct {
	lookup Lookup
	ttl    time.Duration
	now    func() time.Time

	mu      sync.Mutex
	entries map[string]cacheEntry
}

// MaxEntries bounds the number of cached keys; past it, the cache is
// cleared rather than grown.
const MaxEntries = 10000

// cacheEntry is one cached record.
type cacheEntry struct {
	rec     Record
	expires time.Time
}

// NewCache returns a Cache in front of lookup. A ttl of 0 turns caching off.
func NewCache(lookup Lookup, ttl time.Duration) *Cache {
	return &Cache{lookup: lookup, ttl: ttl, now: time.Now, entries: map[string]cacheEntry{}}
}

// LookupAPIKey implements Lookup.
func (c *Cache) LookupAPIKey(ctx context.Context, hash string) (Record, error) {
	if c.ttl <= 0 {
		return c.lookup.LookupAPIKey(ctx, hash)
	}
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[hash]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.rec, nil
	}
	rec, err := c.lookup.LookupAPIKey(ctx, hash)
	if err != nil {
		return Record{}, err
	}
	c.mu.Lock()
	if len(c.entries) >= MaxEntries {
		clear(c.entries)
	}
	c.entries[hash] = cacheEntry{rec: rec, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return rec, nil
}
