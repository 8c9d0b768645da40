package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
)

// Rotation limits.
const (
	// MaxOldSecrets is how many earlier secrets may still be in their grace
	// period at once.
	MaxOldSecrets = 5
	// DefaultGracePeriod is how long the previous secret stays valid after
	// a rotation when the request does not say.
	DefaultGracePeriod = 24 * time.Hour
	// MaxGracePeriod is the longest grace period accepted (7 days).
	MaxGracePeriod = 7 * 24 * time.Hour
)

// CodeRotationLimitReached is the error code of a rotation that would keep
// more than MaxOldSecrets earlier secrets.
const CodeRotationLimitReached = "rotation_limit_reached"

// OldSecret is an earlier signing secret in its grace period: deliveries
// are signed with it too until it expires.
type OldSecret struct {
	// Value is the "whsec_..." secret.
	Value string
	// SHA256 is the hex SHA-256 of Value.
	SHA256 string
	// ExpiresAt is when deliveries stop being signed with it.
	ExpiresAt time.Time
}

// SecretSet is everything stored for one webhook's signing: the current
// secret and the earlier ones still in their grace period.
type SecretSet struct {
	// Current is the secret new deliveries are signed with.
	Current string
	// CurrentSHA256 is the hex SHA-256 of Current.
	CurrentSHA256 string
	// Previous are earlier secrets, oldest first.
	Previous []OldSecret
}

// NewSecretSet is the set of a new webhook: one secret, no earlier ones.
func NewSecretSet(secret string) SecretSet {
	return SecretSet{Current: secret, CurrentSHA256: HashSecret(secret)}
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

// Rotate makes next the current secret. The old current secret stays valid
// for grace (not at all if grace is 0); expired earlier secrets are dropped.
// More than MaxOldSecrets earlier secrets in their grace period is an error.
func (s SecretSet) Rotate(next string, grace time.Duration, now time.Time) (SecretSet, error) {
	prev := s.Unexpired(now)
	if grace > 0 {
		prev = append(prev, OldSecret{Value: s.Current, SHA256: s.CurrentSHA256, ExpiresAt: now.Add(grace).UTC()})
	}
	if len(prev) > MaxOldSecrets {
		return SecretSet{}, &apperr.Error{Kind: apperr.Invalid, Code: CodeRotationLimitReached, Param: "grace_period_seconds",
			Message: fmt.Sprintf("at most %d earlier signing secrets may be in their grace period; wait for one to expire or rotate with grace_period_seconds 0", MaxOldSecrets)}
	}
	out := NewSecretSet(next)
	out.Previous = prev
	return out, nil
}

// ParseRotateParams validates a rotate request body: an optional
// grace_period_seconds from 0 to 604800. An empty body takes the default.
func ParseRotateParams(body map[string]json.RawMessage) (time.Duration, error) {
	var problems []apperr.FieldError
	grace := DefaultGracePeriod
	for _, name := range slices.Sorted(maps.Keys(body)) {
		raw := body[name]
		if name != "grace_period_seconds" {
			problems = append(problems, apperr.FieldError{Param: name, Code: CodeParameterUnknown,
				Message: fmt.Sprintf("unknown parameter %s", strconv.Quote(name))})
			continue
		}
		lit := string(bytes.TrimSpace(raw))
		n, err := strconv.Atoi(lit)
		if !integerLiteral(lit) || err != nil || n < 0 || time.Duration(n)*time.Second > MaxGracePeriod {
			problems = append(problems, apperr.FieldError{Param: name, Code: "grace_period_invalid",
				Message: fmt.Sprintf("grace_period_seconds must be a whole number from 0 to %d", int(MaxGracePeriod/time.Second))})
			continue
		}
		grace = time.Duration(n) * time.Second
	}
	if len(problems) > 0 {
		return 0, apperr.Validation(problems)
	}
	return grace, nil
}
