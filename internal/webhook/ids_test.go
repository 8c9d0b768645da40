package webhook

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestNewIDIsPrefixedAndTimeSortable(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	prev := ""
	for i := range 100 {
		id, err := NewID(t0.Add(time.Duration(i) * time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(id, IDPrefix) || len(id) != 29 || !ValidID(id) {
			t.Fatalf("id %q is not wh_ plus 26 ULID characters", id)
		}
		if id <= prev {
			t.Fatalf("id %q does not sort after %q, made a millisecond earlier", id, prev)
		}
		prev = id
	}
	for _, bad := range []string{"", "wh_", "wh_01", "whx01J0000000000000000000000", "wh_" + strings.Repeat("U", 26), "WH_01JDXW3V5W4V0X2T1D6Q9V5N3K"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

func TestNewSigningSecretFormat(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		s, err := NewSigningSecret()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
		if !strings.HasPrefix(s, SecretPrefix) || err != nil || len(raw) != SecretBytes {
			t.Fatalf("secret %q is not whsec_ plus base64 of %d bytes", s, SecretBytes)
		}
		if seen[s] {
			t.Fatalf("secret repeated after %d draws", len(seen))
		}
		seen[s] = true
	}
}

func TestHashSecret(t *testing.T) {
	// printf 'whsec_test' | sha256sum
	const want = "609b97b03239401be8235dd68f4a53ea4e32183a775fb958b1c745e173586d73"
	if got := HashSecret("whsec_test"); got != want {
		t.Fatalf("HashSecret = %q, want %q", got, want)
	}
}
