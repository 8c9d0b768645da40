package delivery

import (
	"context"
	"errors"
	"fmt"

	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// Retry sends owner's delivery deliveryID of webhook webhookID again now:
// one more attempt, with the same webhook-id, signed afresh. A pending
// delivery's next attempt is brought forward instead. It returns the
// delivery as queued, and whether that is the replayed result of an
// earlier request with idempotencyKey.
func (s *Manager) Retry(ctx context.Context, owner tenant.Tenant, webhookID, deliveryID, idempotencyKey string) (Summary, bool, error) {
	return once(ctx, s, owner, idempotencyKey, webhook.Fingerprint("retry_delivery", webhookID, deliveryID), func() (Summary, error) {
		w, err := s.active(ctx, owner, webhookID)
		if err != nil {
			return Summary{}, err
		}
		sum, err := s.delivery(ctx, w, deliveryID)
		if err != nil {
			return Summary{}, err
		}
		ev, err := s.History.Event(ctx, owner, sum.EventID)
		if errors.Is(err, ErrNotFound) {
			return Summary{}, eventExpired(sum.EventID)
		}
		if err != nil {
			return Summary{}, fmt.Errorf("read event %s: %w", sum.EventID, err)
		}
		ev.Test = sum.Test
		now := s.now()
		r, err := s.plan(w, ev, sum.Status, now, false)
		if err != nil {
			return Summary{}, err
		}
		if _, err := s.takeUpTo(ctx, w, 1, now); err != nil {
			return Summary{}, err
		}
		if _, err := s.sendTaken(ctx, w, 1, now, []Reopen{r}, false); err != nil {
			return Summary{}, err
		}
		return reopened(sum, r), nil
	})
}
