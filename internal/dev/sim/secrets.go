package sim

import (
	"context"
	"sync"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/webhook"
)

// secretStore is Secrets Manager as the Deliverer reads it: every
// webhook's signing secret, one GetSecretValue a read. Each simulated
// instance keeps the keys it read (the Deliverer's cache), as a warm
// Lambda instance does, so reads follow instances times webhooks, not
// attempts.
type secretStore struct {
	lat   Latencies
	set   webhook.SecretSet
	mu    sync.Mutex
	calls *Calls
}

// Compile-time check that the simulated secrets are delivery.Secrets.
var _ delivery.Secrets = (*secretStore)(nil)

// Get reads a secret: every webhook's is set.
func (s *secretStore) Get(ctx context.Context, _ string) (webhook.SecretSet, error) {
	wait(ctx, s.lat.Secrets)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls.SecretsManager.GetSecretValue++
	return s.set, nil
}
