package apikey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/tenant"
)

func TestParse(t *testing.T) {
	ok24, ok64 := strings.Repeat("a", 24), strings.Repeat("Z9", 32)
	cases := []struct {
		raw  string
		mode tenant.Mode // "" means invalid
	}{
		{"dk_test_" + ok24, tenant.Test},
		{"dk_live_" + ok64, tenant.Live},
		{"dk_test_" + ok24[:23], ""},
		{"dk_live_" + ok64 + "a", ""},
		{"dk_test_" + strings.Repeat("a", 23) + "-", ""},
		{"dk_test_" + strings.Repeat("a", 23) + " ", ""},
		{"dk_prod_" + ok24, ""},
		{"DK_TEST_" + ok24, ""},
		{"sk_test_" + ok24, ""},
		{"", ""},
		{"dk_test_", ""},
	}
	for _, c := range cases {
		k, err := Parse(c.raw)
		switch {
		case c.mode == "" && err == nil:
			t.Errorf("Parse(%q) accepted a malformed key", c.raw)
		case c.mode != "" && err != nil:
			t.Errorf("Parse(%q): %v", c.raw, err)
		case c.mode != "" && k.Mode() != c.mode:
			t.Errorf("Parse(%q).Mode() = %s, want %s", c.raw, k.Mode(), c.mode)
		}
		if err != nil && strings.Contains(err.Error(), c.raw) && c.raw != "" {
			t.Errorf("Parse(%q) error repeats the key: %v", c.raw, err)
		}
	}
}

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	for _, mode := range []tenant.Mode{tenant.Test, tenant.Live} {
		for range 200 {
			k, err := Generate(mode)
			if err != nil {
				t.Fatal(err)
			}
			if k.Mode() != mode || len(k.Raw()) != len(TestPrefix)+issuedSecretLen || seen[k.Raw()] {
				t.Fatalf("Generate(%s) = %q: wrong mode, length or a repeat", mode, k.Redacted())
			}
			seen[k.Raw()] = true
		}
	}
}

func TestKeyNeverPrintsItself(t *testing.T) {
	k, err := Parse("dk_live_abcdefghijklmnopqrstuvwxyz1234")
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "key", k)
	for _, out := range []string{fmt.Sprint(k), fmt.Sprintf("%v %s %+v %#v", k, k, k, k), logged.String()} {
		if strings.Contains(out, k.Raw()) || !strings.Contains(out, "dk_live_...1234") {
			t.Errorf("printed key = %q, want only the redacted form", out)
		}
	}
}

func TestHashIsSHA256Hex(t *testing.T) {
	k, err := Parse("dk_test_LocalDevOnlyKey0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	// printf 'dk_test_LocalDevOnlyKey0123456789abcdef' | sha256sum
	const want = "65eac4283bc045f6a137da2afbdd2142e14ef67eb3604bee36825bde0c641674"
	if got := k.Hash(); got != want {
		t.Errorf("Hash() = %s, want %s", got, want)
	}
}

// countingLookup is a Lookup over a map that counts its calls.
type countingLookup struct {
	records map[string]Record
	calls   int
}

func (l *countingLookup) LookupAPIKey(_ context.Context, hash string) (Record, error) {
	l.calls++
	r, ok := l.records[hash]
	if !ok {
		return Record{}, ErrNotFound
	}
	return r, nil
}

func TestCache(t *testing.T) {
	ctx := context.Background()
	l := &countingLookup{records: map[string]Record{"h": {Hash: "h", Active: true}}}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	c := NewCache(l, 30*time.Second)
	c.now = func() time.Time { return now }
	for range 3 {
		if r, err := c.LookupAPIKey(ctx, "h"); err != nil || !r.Active {
			t.Fatalf("lookup: %+v, %v", r, err)
		}
	}
	if l.calls != 1 {
		t.Errorf("3 lookups within the TTL made %d store calls, want 1", l.calls)
	}
	// A revocation shows once the entry expires.
	l.records["h"] = Record{Hash: "h", Active: false}
	now = now.Add(29 * time.Second)
	if r, _ := c.LookupAPIKey(ctx, "h"); !r.Active {
		t.Errorf("entry dropped before its TTL")
	}
	now = now.Add(2 * time.Second)
	if r, _ := c.LookupAPIKey(ctx, "h"); r.Active || l.calls != 2 {
		t.Errorf("after the TTL: active=%v, %d calls; want the revocation seen with a second call", r.Active, l.calls)
	}
	// Unknown keys are not cached: each one asks the store.
	for range 2 {
		if _, err := c.LookupAPIKey(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown key: %v", err)
		}
	}
	if l.calls != 4 {
		t.Errorf("unknown keys made %d calls in all, want 4", l.calls)
	}
	off := NewCache(l, 0)
	off.LookupAPIKey(ctx, "h")
	off.LookupAPIKey(ctx, "h")
	if l.calls != 6 {
		t.Errorf("a TTL of 0 still cached (%d calls, want 6)", l.calls)
	}
}
