package delivery

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/docproc/webhooks/internal/tenant"
)

// once runs run under idempotencyKey (Manager.Idempotency), storing its
// result as JSON: a request that used the key before with fingerprint gets
// that result again, decoded, and replayed true. A failed run stores
// nothing.
func once[T any](ctx context.Context, s *Manager, owner tenant.Tenant, idempotencyKey, fingerprint string, run func() (T, error)) (T, bool, error) {
	var zero T
	raw, replayed, err := s.Idempotency.Once(ctx, owner, idempotencyKey, fingerprint, func() ([]byte, error) {
		v, err := run()
		if err != nil {
			return nil, err
		}
		return json.Marshal(v)
	})
	if err != nil {
		return zero, false, err
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return zero, false, fmt.Errorf("decode stored result: %w", err)
	}
	return v, replayed, nil
}
