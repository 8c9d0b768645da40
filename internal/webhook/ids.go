package webhook

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"
)

// Prefixes of the public, typed identifiers.
const (
	IDPrefix     = "wh_"
	SecretPrefix = "whsec_"
	// SecretBytes is the size of the random part of a signing secret.
	SecretBytes = 32
)

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
func ValidID(s string) bool {
	if len(s) != len(IDPrefix)+ulid.EncodedSize || s[:len(IDPrefix)] != IDPrefix {
		return false
	}
	_, err := ulid.ParseStrict(s[len(IDPrefix):])
	return err == nil
}

// NewSigningSecret returns "whsec_" plus the standard base64 of 32 random
// bytes from crypto/rand: the Standard Webhooks secret format.
func NewSigningSecret() (string, error) {
	b := make([]byte, SecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new signing secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// HashSecret returns the hex SHA-256 of a signing secret as shown to the
// customer (prefix included), for support to compare without seeing it.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
