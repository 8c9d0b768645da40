package webhook

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/docproc/webhooks/internal/redact"
)

func TestNewSigningSecretFormat(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		s, err := NewSigningSecret()
		if err != nil {
			t.Fatal(err)
		}
		v := s.Reveal()
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(v, SigningSecretPrefix))
		if !strings.HasPrefix(v, SigningSecretPrefix) || err != nil || len(raw) != SigningSecretBytes {
			t.Fatalf("secret %q is not whsec_ plus base64 of %d bytes", v, SigningSecretBytes)
		}
		if seen[v] || s.SHA256() != HashSecret(v) {
			t.Fatalf("secret repeated after %d draws, or its hash is not HashSecret of its value", len(seen))
		}
		seen[v] = true
	}
}

func TestHashSecret(t *testing.T) {
	// printf 'whsec_test' | sha256sum
	const want = "609b97b03239401be8235dd68f4a53ea4e32183a775fb958b1c745e173586d73"
	if got := HashSecret("whsec_test"); got != want {
		t.Fatalf("HashSecret = %q, want %q", got, want)
	}
}

// A signing secret formatted with any verb, logged, marshalled or wrapped
// in an error shows only the redaction mark.
func TestSigningSecretRedactsItself(t *testing.T) {
	s, err := NewSigningSecret()
	if err != nil {
		t.Fatal(err)
	}
	value := s.Reveal()
	holder := struct {
		Secret SigningSecret
		Set    SecretSet
		hidden SigningSecret // fmt cannot call the methods of an unexported field
		set    SecretSet
	}{s, NewSecretSet(s), s, NewSecretSet(s)}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
		out = append(out, fmt.Sprintf(verb, s), fmt.Sprintf(verb, holder), fmt.Sprintf(verb, &holder))
	}
	out = append(out, fmt.Errorf("wrapped: %v", s).Error(), fmt.Sprint(s), fmt.Sprintln(holder))
	j, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logged, nil))
	log.Info("secret", "secret", s, "holder", holder)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("secret", "secret", s, "set", holder.Set)
	out = append(out, string(j), logged.String())
	for _, o := range out {
		if strings.Contains(o, value) || strings.Contains(o, strings.TrimPrefix(value, SigningSecretPrefix)[:16]) {
			t.Errorf("the secret leaks: %s", o)
		}
	}
	if !strings.Contains(string(j), redact.SecretMark) || !strings.Contains(logged.String(), redact.SecretMark) {
		t.Errorf("no redaction mark in %s / %s", j, logged.String())
	}
}
