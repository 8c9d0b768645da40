package webhook

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"
)

// IDPrefix starts every webhook id.
const IDPrefix = "wh_"

// NewID returns "wh_" plus a ULID for time t: 26 Crockford base32 characters
// that sort by creation time, with 80 random bits from crypto/rand.
func NewID(t time.Time) (string, error) {
	id, err := ulid.New(ulid.Timestamp(t), rand.Reader)
	if err != nil {
		return "", fmt.Errorf("new webhook id: %w", err)
	}
	return IDPrefix + id.String(), nil
}

// ValidID reports whether s has the form of a webhook id.
func ValidID(s string) bool { return ValidPrefixedULID(s, IDPrefix) }

// ValidPrefixedULID reports whether s is prefix followed by a ULID: the
// form of the service's ids (webhooks, deliveries).
func ValidPrefixedULID(s, prefix string) bool {
	if len(s) != len(prefix)+ulid.EncodedSize || s[:len(prefix)] != prefix {
		return false
	}
	_, err := ulid.ParseStrict(s[len(prefix):])
	return err == nil
}
