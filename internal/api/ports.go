package api

import (
	"context"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// The handler's ports: what it asks of the services behind it, so that its
// decisions can be tested with small fakes. The app package wires in the
// concrete services named on each.

// Authenticator tells whose an API key is (apikey.Authenticator).
type Authenticator interface {
	// Authenticate returns the account and mode the raw key acts for. A
	// missing, malformed, unknown or revoked key is an *apperr.Error of
	// kind Unauthenticated; any other error is the store's.
	Authenticate(ctx context.Context, raw string) (tenant.Tenant, error)
}

// Webhooks manages an owner's webhooks (webhook.Service).
type Webhooks interface {
	// Create registers a webhook with settings p, once per idempotency key.
	Create(ctx context.Context, owner tenant.Tenant, p webhook.Settings, idempotencyKey string) (webhook.WithSecret, error)
	// Get returns owner's webhook id.
	Get(ctx context.Context, owner tenant.Tenant, id string) (webhook.Webhook, error)
	// List returns a page of owner's webhooks, newest first.
	List(ctx context.Context, owner tenant.Tenant, limit int, startingAfter string) (webhook.Page, error)
	// Update changes the settings u sets of owner's webhook id.
	Update(ctx context.Context, owner tenant.Tenant, id string, u webhook.UpdateParams) (webhook.Webhook, error)
	// Delete removes owner's webhook id and returns it as it was.
	Delete(ctx context.Context, owner tenant.Tenant, id string) (webhook.Webhook, error)
	// RotateSecret gives owner's webhook id a new signing secret, keeping
	// the current one valid for grace, once per idempotency key.
	RotateSecret(ctx context.Context, owner tenant.Tenant, id string, grace time.Duration, idempotencyKey string) (webhook.WithSecret, error)
}

// Deliveries reads and sends a webhook's deliveries (delivery.Manager).
// Each send returns, besides its result, whether it is the replay of an
// earlier request with the same idempotency key.
type Deliveries interface {
	// List returns a page of the deliveries of owner's webhook webhookID
	// that f matches.
	List(ctx context.Context, owner tenant.Tenant, webhookID string, f delivery.Filter, limit int, startingAfter string) (delivery.Page, error)
	// Get returns one delivery with its attempts and payload.
	Get(ctx context.Context, owner tenant.Tenant, webhookID, deliveryID string) (delivery.Detail, error)
	// Latest returns w's most recent delivery, or nil when it has none.
	Latest(ctx context.Context, w webhook.Webhook) (*delivery.Summary, error)
	// Breaker returns w's circuit breaker at now, and when an open one
	// lets a probe go.
	Breaker(ctx context.Context, w webhook.Webhook, now time.Time) (delivery.BreakerState, time.Time, error)
	// Retry sends a delivery again now (a pending one's next attempt is
	// brought forward).
	Retry(ctx context.Context, owner tenant.Tenant, webhookID, deliveryID, idempotencyKey string) (delivery.Summary, bool, error)
	// Test sends an example event of type typ, marked as a test.
	Test(ctx context.Context, owner tenant.Tenant, webhookID string, typ webhook.EventType, idempotencyKey string) (delivery.Summary, bool, error)
	// Recover queues again the events of a window that the webhook
	// subscribes to and that were not delivered to it, and says where a
	// next request would go on.
	Recover(ctx context.Context, owner tenant.Tenant, webhookID string, win delivery.Window, idempotencyKey string) (delivery.Recovery, bool, error)
}
