package keyadmin_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/apikey"
	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/keyadmin"
	"github.com/docproc/webhooks/internal/tenant"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestCreateListRevoke(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		client := dynamo.NewClient(b.Config(t))
		table := testenv.Unique("keys-")
		testenv.CreateTable(t, client, table)
		store := dynamo.New(client, table)
		auth := apikey.NewAuthenticator(store)
		run := func(args ...string) (string, error) {
			var out bytes.Buffer
			err := keyadmin.Run(ctx, args, store, &out, time.Now())
			return out.String(), err
		}
		create := func(mode string) string {
			t.Helper()
			out, err := run("create", "-account", "acct_ops", "-mode", mode)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			return lines[len(lines)-1]
		}
		live, test := create("live"), create("test")
		if owner, err := auth.Authenticate(ctx, live); err != nil || owner != (tenant.Tenant{Account: "acct_ops", Mode: tenant.Live}) {
			t.Fatalf("the created live key does not authenticate: %v %v", owner, err)
		}
		list, err := run("list", "-account", "acct_ops")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(list, live) || strings.Contains(list, test) {
			t.Fatal("list shows a whole key")
		}
		for _, want := range []string{"dk_live_..." + live[len(live)-4:], "dk_test_..." + test[len(test)-4:], "active"} {
			if !strings.Contains(list, want) {
				t.Errorf("list lacks %q:\n%s", want, list)
			}
		}
		if _, err := run("revoke", "-key", live); err != nil {
			t.Fatal(err)
		}
		if _, err := auth.Authenticate(ctx, live); apperr.As(err) == nil || apperr.As(err).Code != "api_key_revoked" {
			t.Errorf("revoked key: %v, want api_key_revoked", err)
		}
		testKey, _ := apikey.Parse(test)
		if _, err := run("revoke", "-id", testKey.Hash()); err != nil {
			t.Fatal(err)
		}
		if _, err := auth.Authenticate(ctx, test); apperr.As(err) == nil || apperr.As(err).Code != "api_key_revoked" {
			t.Errorf("key revoked by id: %v, want api_key_revoked", err)
		}
		if list, _ := run("list", "-account", "acct_ops"); strings.Count(list, "revoked") != 2 {
			t.Errorf("list after revoking both:\n%s", list)
		}
		if _, err := run("revoke", "-id", strings.Repeat("0", 64)); !errors.Is(err, apikey.ErrNotFound) {
			t.Errorf("revoke of an unknown id: %v", err)
		}
	})
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		nil, {"rotate"}, {"create", "-account", "acct", "-mode", "prod"}, {"create", "-mode", "test"},
		{"list"}, {"revoke"}, {"revoke", "-id", "abc"}, {"revoke", "-key", "dk_test_short"},
		{"list", "-account", "a", "extra"}, {"create", "-colour", "red"},
	} {
		err := keyadmin.Run(context.Background(), args, nil, &bytes.Buffer{}, time.Now())
		if !errors.Is(err, keyadmin.ErrUsage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, c := range []struct {
		args []string
		help bool
	}{
		{[]string{"help"}, true}, {[]string{"-h"}, true}, {[]string{"--help"}, true}, {[]string{"-help"}, true},
		{[]string{"list", "-h"}, true}, {nil, false}, {[]string{"list", "-account", "help"}, false},
	} {
		var out bytes.Buffer
		if got := keyadmin.Help(c.args, &out); got != c.help || (out.String() == keyadmin.Usage) != c.help {
			t.Errorf("Help(%v) = %v, wrote %q", c.args, got, out.String())
		}
	}
}

// TestUsageTellsTheTruthAboutRevocation: a revoked key keeps working on
// instances that cached it, for up to the key cache's TTL.
func TestUsageTellsTheTruthAboutRevocation(t *testing.T) {
	if strings.Contains(keyadmin.Usage, "at once;") || strings.Contains(keyadmin.Usage, "401 at once") ||
		!strings.Contains(keyadmin.Usage, "API_KEY_CACHE_TTL") {
		t.Errorf("usage misstates revocation:\n%s", keyadmin.Usage)
	}
}
