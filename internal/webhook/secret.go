package webhook

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/docproc/webhooks/internal/redact"
)

// The signing secret's format: the Standard Webhooks one.
const (
	// SigningSecretPrefix starts every signing secret.
	SigningSecretPrefix = "whsec_"
	// SigningSecretBytes is the size of the random part of a signing secret.
	SigningSecretBytes = 32
)

// SigningSecret is a webhook's signing secret. It redacts itself wherever
// it is formatted, logged or marshalled, so that a stray %v or log
// attribute cannot leak it; Reveal gives the value, for the one response
// that shows it and for the store that keeps it. The value sits behind a
// pointer, so that even where fmt cannot call its methods (a SigningSecret
// in an unexported field of a struct being printed) it prints an address,
// not the secret. Compare two with Equal: == does not compile.
type SigningSecret struct {
	_     [0]func() // not comparable
	value *string
}

// SigningSecretOf wraps value, a signing secret as stored.
func SigningSecretOf(value string) SigningSecret { return SigningSecret{value: &value} }

// NewSigningSecret returns "whsec_" plus the standard base64 of 32 random
// bytes from crypto/rand: the Standard Webhooks secret format.
func NewSigningSecret() (SigningSecret, error) {
	b := make([]byte, SigningSecretBytes)
	if _, err := rand.Read(b); err != nil {
		return SigningSecret{}, fmt.Errorf("new signing secret: %w", err)
	}
	return SigningSecretOf(SigningSecretPrefix + base64.StdEncoding.EncodeToString(b)), nil
}

// Reveal returns the secret's value, "whsec_...", or "" for none.
func (s SigningSecret) Reveal() string {
	if s.value == nil {
		return ""
	}
	return *s.value
}

// IsZero reports whether s holds no secret.
func (s SigningSecret) IsZero() bool { return s.Reveal() == "" }

// Equal reports whether s and o are the same secret, in constant time.
func (s SigningSecret) Equal(o SigningSecret) bool {
	return subtle.ConstantTimeCompare([]byte(s.Reveal()), []byte(o.Reveal())) == 1
}

// SHA256 returns HashSecret of the secret.
func (s SigningSecret) SHA256() string { return HashSecret(s.Reveal()) }

// String returns redact.SecretMark, never the value.
func (s SigningSecret) String() string { return redact.SecretMark }

// GoString returns redact.SecretMark, never the value (%#v).
func (s SigningSecret) GoString() string { return redact.SecretMark }

// Format writes redact.SecretMark for every verb, so that no verb (%x and
// %d included) prints the value.
func (s SigningSecret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redact.SecretMark) }

// LogValue returns redact.SecretMark, for log/slog.
func (s SigningSecret) LogValue() slog.Value { return slog.StringValue(redact.SecretMark) }

// MarshalText returns redact.SecretMark, for encoding/json and friends: a
// response shows a secret only through Reveal.
func (s SigningSecret) MarshalText() ([]byte, error) { return []byte(redact.SecretMark), nil }

// OldSecret is an earlier signing secret in its grace period: deliveries
// are signed with it too until it expires.
type OldSecret struct {
	// Value is the secret.
	Value SigningSecret
	// SHA256 is the hex SHA-256 of Value.
	SHA256 string
	// ExpiresAt is when deliveries stop being signed with it.
	ExpiresAt time.Time
}

// SecretSet is everything stored for one webhook's signing: the current
// secret and the earlier ones still in their grace period.
type SecretSet struct {
	// Current is the secret new deliveries are signed with.
	Current SigningSecret
	// CurrentSHA256 is the hex SHA-256 of Current.
	CurrentSHA256 string
	// Previous are earlier secrets, oldest first.
	Previous []OldSecret
}

// NewSecretSet is the set of a new webhook: one secret, no earlier ones.
func NewSecretSet(secret SigningSecret) SecretSet {
	return SecretSet{Current: secret, CurrentSHA256: secret.SHA256()}
}

// Unexpired returns the earlier secrets still valid at now.
func (s SecretSet) Unexpired(now time.Time) []OldSecret {
	var out []OldSecret
	for _, o := range s.Previous {
		if o.ExpiresAt.After(now) {
			out = append(out, o)
		}
	}
	return out
}

// Find returns the secret whose hash is sha256 if the set still holds it
// at now: the current secret, or an earlier one in its grace period.
func (s SecretSet) Find(sha256 string, now time.Time) (SigningSecret, bool) {
	if sha256 == "" {
		return SigningSecret{}, false
	}
	if s.CurrentSHA256 == sha256 {
		return s.Current, true
	}
	for _, o := range s.Unexpired(now) {
		if o.SHA256 == sha256 {
			return o.Value, true
		}
	}
	return SigningSecret{}, false
}

// Rotate makes next the current secret. The old current secret stays valid
// for grace (not at all if grace is 0); expired earlier secrets are dropped.
// More than MaxOldSecrets earlier secrets in their grace period is an error.
func (s SecretSet) Rotate(next SigningSecret, grace time.Duration, now time.Time) (SecretSet, error) {
	prev := s.Unexpired(now)
	if grace > 0 {
		prev = append(prev, OldSecret{Value: s.Current, SHA256: s.CurrentSHA256, ExpiresAt: now.Add(grace).UTC()})
	}
	if len(prev) > MaxOldSecrets {
		return SecretSet{}, rotationLimit()
	}
	out := NewSecretSet(next)
	out.Previous = prev
	return out, nil
}

// HashSecret returns the hex SHA-256 of a signing secret as shown to the
// customer (prefix included), for support to compare without seeing it.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
