package delivery_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/webhook"
)

// The Standard Webhooks test vectors: the one every official library tests
// (go/webhook_test.go TestWebhookSign, and the C#, Java, PHP, Python, Ruby
// and JavaScript suites), and the one the Rust library's test_sign uses,
// from github.com/standard-webhooks/standard-webhooks/libraries v0.0.1.
var vectors = []struct {
	name, secret, msgID string
	timestamp           int64
	body, want          string
}{
	{
		name:      "spec",
		secret:    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		msgID:     "msg_p5jXN8AQM9LWM0D4loKWxJek",
		timestamp: 1614265330,
		body:      `{"test": 2432232314}`,
		want:      "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
	},
	{
		name:      "rust test_sign",
		secret:    "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
		msgID:     "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
		timestamp: 1649367553,
		body:      `{"email":"test@example.com","username":"test_user"}`,
		want:      "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
	},
}

// keysOf returns the signing keys of a set, failing the test on error.
func keysOf(t testing.TB, set webhook.SecretSet) delivery.Keys {
	t.Helper()
	keys, err := delivery.KeysOf(set)
	if err != nil {
		t.Fatalf("KeysOf: %v", err)
	}
	return keys
}

// newSecret returns a fresh random signing secret.
func newSecret(t testing.TB) webhook.SigningSecret {
	t.Helper()
	s, err := webhook.NewSigningSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// receiver is what a customer runs: the official library holding one
// secret.
func receiver(t testing.TB, secret webhook.SigningSecret) *standardwebhooks.Webhook {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret.Reveal())
	if err != nil {
		t.Fatalf("standardwebhooks.NewWebhook: %v", err)
	}
	return wh
}

// headers are the headers a delivery sends.
func headers(msgID string, at time.Time, signature string) http.Header {
	h := http.Header{}
	h.Set(standardwebhooks.HeaderWebhookID, msgID)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(standardwebhooks.HeaderWebhookSignature, signature)
	return h
}

func TestSignMatchesPublishedVectors(t *testing.T) {
	for _, v := range vectors {
		keys := keysOf(t, webhook.NewSecretSet(webhook.SigningSecretOf(v.secret)))
		at := time.Unix(v.timestamp, 0)
		if got := keys.Sign(v.msgID, at, []byte(v.body)); got != v.want {
			t.Errorf("%s: Sign = %q, want %q", v.name, got, v.want)
		}
		// The timestamp is whole seconds: a fraction and a time zone
		// change nothing.
		odd := time.Unix(v.timestamp, 999_999_999).In(time.FixedZone("UTC+13", 13*3600))
		if got := keys.Sign(v.msgID, odd, []byte(v.body)); got != v.want {
			t.Errorf("%s: Sign at %v = %q, want %q", v.name, odd, got, v.want)
		}
		// The official library agrees, and verifies ours.
		wh, err := standardwebhooks.NewWebhook(v.secret)
		if err != nil {
			t.Fatal(err)
		}
		if lib, _ := wh.Sign(v.msgID, at, []byte(v.body)); lib != v.want {
			t.Errorf("%s: the official library signs %q, want %q", v.name, lib, v.want)
		}
		if err := wh.VerifyIgnoringTimestamp([]byte(v.body), headers(v.msgID, at, v.want)); err != nil {
			t.Errorf("%s: the official library rejects the vector: %v", v.name, err)
		}
	}
}

// bodies are payloads of varied bytes: empty, every byte value, invalid
// UTF-8, the header's own separators, and large random ones.
func bodies(t *testing.T) map[string][]byte {
	t.Helper()
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	big := make([]byte, 64<<10)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"empty":          {},
		"nil":            nil,
		"every byte":     all,
		"invalid utf-8":  {0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1},
		"separators":     []byte(" , . v1, v1,AAAA= \n\r\t"),
		"nul bytes":      make([]byte, 1000),
		"json":           []byte(`{"id":"evt_1","type":"document.uploaded","data":{"name":"ü ✓"}}`),
		"64 KiB random":  big,
		"1 byte random":  big[:1],
		"block boundary": big[:64],
	}
}

func TestSignVerifiesWithOfficialLibrary(t *testing.T) {
	for name, body := range bodies(t) {
		secret := newSecret(t)
		keys := keysOf(t, webhook.NewSecretSet(secret))
		wh := receiver(t, secret)
		now := time.Now()
		const msgID = "msg_01JDQ3M2V6Y8Z4X5W7T9R1P3N5"
		sig := keys.Sign(msgID, now, body)
		if err := wh.Verify(body, headers(msgID, now, sig)); err != nil {
			t.Errorf("%s: the official library rejects %q: %v", name, sig, err)
		}
		// Anything else signed is rejected: the body, the id, the
		// timestamp, and another secret.
		tampered := append(bytes.Clone(body), 'x')
		if err := wh.Verify(tampered, headers(msgID, now, sig)); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
			t.Errorf("%s: tampered body: Verify = %v, want ErrNoMatchingSignature", name, err)
		}
		if err := wh.Verify(body, headers(msgID+"x", now, sig)); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
			t.Errorf("%s: other webhook-id: Verify = %v, want ErrNoMatchingSignature", name, err)
		}
		if err := wh.Verify(body, headers(msgID, now.Add(-time.Second), sig)); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
			t.Errorf("%s: other timestamp: Verify = %v, want ErrNoMatchingSignature", name, err)
		}
		if err := receiver(t, newSecret(t)).Verify(body, headers(msgID, now, sig)); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
			t.Errorf("%s: other secret: Verify = %v, want ErrNoMatchingSignature", name, err)
		}
	}
}

func TestSignatureIsStandardForm(t *testing.T) {
	keys := keysOf(t, webhook.NewSecretSet(newSecret(t)))
	sig := keys.Sign("msg_1", time.Now(), []byte("{}"))
	v, mac, ok := strings.Cut(sig, ",")
	raw, err := base64.StdEncoding.DecodeString(mac)
	if !ok || v != delivery.SignatureVersion || err != nil || len(raw) != 32 || strings.ContainsAny(sig, " \n") {
		t.Fatalf("Sign = %q, want one v1,<base64 of 32 bytes>", sig)
	}
}

// TestRotationGracePeriod: while an earlier secret is in its grace
// period a delivery carries two signatures, and a receiver still holding
// the old secret verifies it as well as one holding the new secret; once
// the grace period ends only the new secret's signature is sent.
func TestRotationGracePeriod(t *testing.T) {
	oldSecret, newSec := newSecret(t), newSecret(t)
	now := time.Now()
	// A grace period shorter than the library's 5-minute tolerance, so
	// that a delivery at its end still has a timestamp Verify accepts.
	const grace = time.Minute
	set, err := webhook.NewSecretSet(oldSecret).Rotate(newSec, grace, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Previous) != 1 || !set.Previous[0].Value.Equal(oldSecret) {
		t.Fatalf("Rotate kept %d earlier secrets, want the old one", len(set.Previous))
	}
	keys := keysOf(t, set)
	oldReceiver, newReceiver := receiver(t, oldSecret), receiver(t, newSec)
	body := []byte(`{"id":"evt_1","type":"document.uploaded"}`)
	const msgID = "msg_rotation"

	during := now
	sig := keys.Sign(msgID, during, body)
	parts := strings.Split(sig, " ")
	if len(parts) != 2 {
		t.Fatalf("during the grace period Sign = %q, want two signatures", sig)
	}
	if first := keysOf(t, webhook.NewSecretSet(newSec)).Sign(msgID, during, body); parts[0] != first {
		t.Errorf("first signature %q, want the current (new) secret's %q", parts[0], first)
	}
	for name, wh := range map[string]*standardwebhooks.Webhook{"old": oldReceiver, "new": newReceiver} {
		if err := wh.Verify(body, headers(msgID, during, sig)); err != nil {
			t.Errorf("during the grace period, a receiver with only the %s secret: %v", name, err)
		}
	}
	// A second before the end: still both.
	if got := keys.Sign(msgID, set.Previous[0].ExpiresAt.Add(-time.Second), body); strings.Count(got, " ") != 1 {
		t.Errorf("a second before the old secret expires Sign = %q, want two signatures", got)
	}

	after := set.Previous[0].ExpiresAt // expired at ExpiresAt itself
	sig = keys.Sign(msgID, after, body)
	if strings.Contains(sig, " ") || sig == "" {
		t.Fatalf("after the grace period Sign = %q, want one signature", sig)
	}
	if err := newReceiver.Verify(body, headers(msgID, after, sig)); err != nil {
		t.Errorf("after the grace period, the new-secret receiver: %v", err)
	}
	if err := oldReceiver.Verify(body, headers(msgID, after, sig)); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
		t.Errorf("after the grace period, the old-secret receiver: Verify = %v, want ErrNoMatchingSignature", err)
	}
}

func TestRotationWithoutGraceSignsOnce(t *testing.T) {
	oldSecret, newSec := newSecret(t), newSecret(t)
	now := time.Now()
	set, err := webhook.NewSecretSet(oldSecret).Rotate(newSec, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("{}")
	sig := keysOf(t, set).Sign("msg_1", now, body)
	if strings.Contains(sig, " ") {
		t.Fatalf("Sign = %q, want one signature", sig)
	}
	if err := receiver(t, oldSecret).Verify(body, headers("msg_1", now, sig)); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
		t.Errorf("the old-secret receiver: Verify = %v, want ErrNoMatchingSignature", err)
	}
}

func TestTwoRotationsSignThrice(t *testing.T) {
	s1, s2, s3 := newSecret(t), newSecret(t), newSecret(t)
	now := time.Now()
	set, err := webhook.NewSecretSet(s1).Rotate(s2, 2*time.Minute, now)
	if err == nil {
		set, err = set.Rotate(s3, 3*time.Minute, now.Add(time.Second))
	}
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("{}")
	sig := keysOf(t, set).Sign("msg_1", now, body)
	if n := len(strings.Split(sig, " ")); n != 3 {
		t.Fatalf("Sign = %q: %d signatures, want 3", sig, n)
	}
	for i, s := range []webhook.SigningSecret{s1, s2, s3} {
		if err := receiver(t, s).Verify(body, headers("msg_1", now, sig)); err != nil {
			t.Errorf("receiver with secret %d: %v", i+1, err)
		}
	}
}

func TestKeysOfRejectsMalformedSecretsWithoutShowingThem(t *testing.T) {
	good := webhook.SigningSecretOf(vectors[0].secret)
	for _, bad := range []string{
		"",
		"whsec_",
		"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",        // no prefix
		"whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",   // other prefix
		"WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  // prefix case
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",   // cut short
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw=", // bad padding
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa-_",  // URL alphabet
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa Sw", // space
		"whsec_!!!!secretvalue!!!!",
	} {
		sets := map[string]webhook.SecretSet{
			"current": webhook.NewSecretSet(webhook.SigningSecretOf(bad)),
			"earlier": {Current: good, Previous: []webhook.OldSecret{{Value: webhook.SigningSecretOf(bad), ExpiresAt: time.Now().Add(time.Hour)}}},
		}
		for where, set := range sets {
			keys, err := delivery.KeysOf(set)
			if err == nil {
				t.Errorf("KeysOf with %s secret %q = %v, nil; want an error", where, bad, keys)
				continue
			}
			body, _ := strings.CutPrefix(bad, webhook.SigningSecretPrefix)
			body = strings.TrimSpace(body)
			for _, msg := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
				if len(body) >= 4 && strings.Contains(msg, body) || strings.Contains(msg, vectors[0].secret[6:]) {
					t.Errorf("KeysOf with %s secret %q: error %q shows a secret", where, bad, msg)
				}
			}
		}
	}
}

// shows reports whether out shows the key bytes raw, in hex, in base64,
// or as the decimal or octal list %v, %d and %o make of a []byte.
func shows(out string, key []byte) bool {
	list := func(format string) string {
		var b strings.Builder
		for i, c := range key[:6] {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, format, c)
		}
		return b.String()
	}
	for _, form := range []string{
		string(key), hex.EncodeToString(key[:6]), strings.ToUpper(hex.EncodeToString(key[:6])),
		base64.StdEncoding.EncodeToString(key)[:8], list("%d"), list("%o"), list("%x"), list("%08b"), list("%c"), list("%U"),
		strings.Trim(fmt.Sprintf("%q", key[:6]), `"`),
	} {
		if strings.Contains(out, form) {
			return true
		}
	}
	return false
}

func TestKeysNeverPrintTheirBytes(t *testing.T) {
	secret := vectors[0].secret
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, webhook.SigningSecretPrefix))
	if err != nil {
		t.Fatal(err)
	}
	set, err := webhook.NewSecretSet(webhook.SigningSecretOf(secret)).Rotate(newSecret(t), time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The vector's secret is now the earlier one; make it current too, so
	// that both positions are printed.
	set.Current = webhook.SigningSecretOf(secret)
	keys := keysOf(t, set)
	if keys[0].String() != "[key]" || keys[0].GoString() != "[key]" {
		t.Errorf("String = %q, GoString = %q, want [key]", keys[0].String(), keys[0].GoString())
	}
	type exported struct{ K delivery.Key }
	type unexported struct {
		k    delivery.Key
		keys delivery.Keys
	}
	values := map[string]any{
		"Key":                     keys[0],
		"*Key":                    &keys[0],
		"Keys":                    keys,
		"earlier Key":             keys[1],
		"in an exported field":    exported{keys[0]},
		"in an unexported field":  unexported{keys[0], keys},
		"*in an unexported field": &unexported{keys[0], keys},
		"in a map":                map[string]delivery.Key{"k": keys[0]},
		"in an interface slice":   []any{keys[0]},
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "% x", "%d", "%o", "%b", "%c", "%U", "%08b"} {
			if out := fmt.Sprintf(verb, v); shows(out, raw) {
				t.Errorf("%s with %s prints the key: %s", name, verb, out)
			}
		}
		for _, out := range []string{fmt.Sprint(v), fmt.Sprintln(v)} {
			if shows(out, raw) {
				t.Errorf("%s with Sprint prints the key: %s", name, out)
			}
		}
		if j, err := json.Marshal(v); err == nil && shows(string(j), raw) {
			t.Errorf("%s as JSON shows the key: %s", name, j)
		}
		var logs bytes.Buffer
		slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "v", v)
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "v", v)
		if shows(logs.String(), raw) {
			t.Errorf("%s in a log shows the key: %s", name, logs.String())
		}
	}
}

// benchSign measures Sign with n keys over a body of size bytes.
func benchSign(b *testing.B, n, size int) {
	set := webhook.NewSecretSet(newSecret(b))
	now := time.Now()
	for range n - 1 {
		var err error
		if set, err = set.Rotate(newSecret(b), time.Hour, now); err != nil {
			b.Fatal(err)
		}
	}
	keys := keysOf(b, set)
	body := make([]byte, size)
	if _, err := rand.Read(body); err != nil {
		b.Fatal(err)
	}
	const msgID = "msg_01JDQ3M2V6Y8Z4X5W7T9R1P3N5"
	if got := strings.Count(keys.Sign(msgID, now, body), ","); got != n {
		b.Fatalf("Sign made %d signatures, want %d", got, n)
	}
	b.ReportAllocs()
	b.SetBytes(int64(size))
	for b.Loop() {
		keys.Sign(msgID, now, body)
	}
}

func BenchmarkSign1Key1KiB(b *testing.B)   { benchSign(b, 1, 1<<10) }
func BenchmarkSign1Key16KiB(b *testing.B)  { benchSign(b, 1, 16<<10) }
func BenchmarkSign2Keys1KiB(b *testing.B)  { benchSign(b, 2, 1<<10) }
func BenchmarkSign2Keys16KiB(b *testing.B) { benchSign(b, 2, 16<<10) }
