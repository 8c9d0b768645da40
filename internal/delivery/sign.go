package delivery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/docproc/webhooks/internal/webhook"
)

// SignatureVersion is the Standard Webhooks signature scheme used: HMAC-SHA256.
const SignatureVersion = "v1"

// Key is a signing key: the bytes of a signing secret after "whsec_",
// base64 decoded, and when it stops being used. It never prints them: it
// formats as "[key]" for every verb, and keeps the bytes in a closure so
// that where fmt cannot call its methods (a Key in an unexported field of
// a struct being printed, with any verb) it prints a func's address, not
// the bytes: a pointer to a slice would print as &[...].
type Key struct {
	bytes func() []byte
	// expires is when an earlier secret's grace period ends; zero for the
	// current secret.
	expires time.Time
}

// keyMark is what a Key prints instead of its bytes.
const keyMark = "[key]"

// String keeps a Key's bytes out of logs and errors.
func (Key) String() string { return keyMark }

// GoString keeps a Key's bytes out of %#v.
func (Key) GoString() string { return keyMark }

// Format writes "[key]" for every verb, so that no verb (%d, %x and %c
// included) prints the bytes.
func (Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, keyMark) }

// Keys are a webhook's signing keys: its current secret first, then the
// earlier ones still in their grace period.
type Keys []Key

// KeysOf decodes a secret set into signing keys.
func KeysOf(set webhook.SecretSet) (Keys, error) {
	cur, err := decodeKey(set.Current)
	if err != nil {
		return nil, fmt.Errorf("current secret: %w", err)
	}
	keys := Keys{{bytes: keyBytes(cur)}}
	for i, o := range set.Previous {
		b, err := decodeKey(o.Value)
		if err != nil {
			return nil, fmt.Errorf("earlier secret %d: %w", i, err)
		}
		keys = append(keys, Key{bytes: keyBytes(b), expires: o.ExpiresAt})
	}
	return keys, nil
}

// keyBytes hides b in a closure (see Key).
func keyBytes(b []byte) func() []byte { return func() []byte { return b } }

// errBadSecret is a stored secret that is not "whsec_" and base64.
var errBadSecret = errors.New("signing secret is not whsec_ followed by base64")

// decodeKey returns the key bytes of a signing secret.
func decodeKey(s webhook.SigningSecret) ([]byte, error) {
	v, ok := strings.CutPrefix(s.Reveal(), webhook.SigningSecretPrefix)
	if !ok {
		return nil, errBadSecret
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) == 0 {
		return nil, errBadSecret
	}
	return b, nil
}

// sigLen is the length of one signature: "v1," and the base64 of a
// SHA-256 HMAC.
var sigLen = len(SignatureVersion) + 1 + base64.StdEncoding.EncodedLen(sha256.Size)

// Sign returns the webhook-signature header of delivery deliveryID's
// attempt at at with body: one "v1,<base64 HMAC-SHA256 of
// deliveryID.timestamp.body>" per key still in use at at (timestamp is
// at in Unix seconds), the current key first, separated by spaces.
func (k Keys) Sign(deliveryID string, at time.Time, body []byte) string {
	// One allocation holds "<id>.<unix seconds>.", signed ahead of the body
	// by every key, and room for an HMAC after it (at most 20 digits).
	scratch := make([]byte, 0, len(deliveryID)+2+20+sha256.Size)
	head := append(scratch, deliveryID...)
	head = append(head, '.')
	head = strconv.AppendInt(head, at.Unix(), 10)
	head = append(head, '.')
	sum := head[len(head):len(head):cap(head)]
	var b strings.Builder
	b.Grow(len(k) * (sigLen + 1))
	var enc [44]byte // base64 of sha256.Size bytes
	for _, key := range k {
		if !key.expires.IsZero() && !key.expires.After(at) {
			continue
		}
		mac := hmac.New(sha256.New, key.bytes())
		mac.Write(head)
		mac.Write(body)
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(SignatureVersion)
		b.WriteByte(',')
		b.Write(base64.StdEncoding.AppendEncode(enc[:0], mac.Sum(sum)))
	}
	return b.String()
}
