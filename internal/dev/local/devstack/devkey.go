package devstack

import (
	"context"
	"fmt"
	"time"

	"github.com/docproc/webhooks/internal/apikey"
	"github.com/docproc/webhooks/internal/tenant"
)

// SeedAPIKey stores the hash of raw (a dk_test_ or dk_live_ key) for
// account, so that requests carrying it authenticate. Seeding the same key
// again is harmless.
func SeedAPIKey(ctx context.Context, store apikey.Store, raw, account string) (apikey.Key, error) {
	key, err := apikey.Parse(raw)
	if err != nil {
		return apikey.Key{}, fmt.Errorf("seed api key: %w", err)
	}
	owner, err := tenant.New(account, key.Mode())
	if err != nil {
		return apikey.Key{}, fmt.Errorf("seed api key: %w", err)
	}
	return key, apikey.Register(ctx, store, key, owner, time.Now())
}
