package delivery

import (
	"cmp"
	"context"
	"time"

	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// Manager runs what customers do with their deliveries: list and read
// them (and an endpoint's breaker), send one again, recover what an
// endpoint missed, and send test events. Every send goes through the delivery queue and the Deliverer,
// like any other delivery.
type Manager struct {
	// Endpoints reads webhooks, scoped to their owner.
	Endpoints Endpoints
	// History reads deliveries and events.
	History History
	// Resends writes manual sends.
	Resends Resends
	// Events keeps test events.
	Events EventLog
	// Queue takes the manual sends' messages.
	Queue Queue
	// Limiter rate-limits manual sends, per webhook and per account.
	Limiter Limiter
	// Idempotency makes acting requests safe to retry.
	Idempotency Idempotency
	// Retention is how long test events and the records of manual sends
	// are kept, and bounds how far back a recovery reaches;
	// DefaultRetention when 0.
	Retention time.Duration
	// Now returns the time; time.Now when nil.
	Now func() time.Time
}

// now is the time of a request, in UTC.
func (s *Manager) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// retention is how long events and records are kept.
func (s *Manager) retention() time.Duration { return cmp.Or(s.Retention, DefaultRetention) }

// active returns owner's webhook id if it is active, and a
// webhook_disabled error if it is not.
func (s *Manager) active(ctx context.Context, owner tenant.Tenant, id string) (webhook.Webhook, error) {
	w, err := s.Endpoints.Get(ctx, owner, id)
	if err != nil {
		return webhook.Webhook{}, err
	}
	if !w.IsActive {
		return webhook.Webhook{}, webhookDisabled(w)
	}
	return w, nil
}
