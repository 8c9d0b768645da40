package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// webhookJSON is the public JSON form of a webhook.
type webhookJSON struct {
	ID           string              `json:"id"`
	Object       string              `json:"object"`
	URL          string              `json:"url"`
	Events       []webhook.EventType `json:"events"`
	IsActive     bool                `json:"is_active"`
	RetryEnabled bool                `json:"retry_enabled"`
	MaxRetries   int                 `json:"max_retries"`
	// RateLimit is the most deliveries a second the owner allows the
	// endpoint; null for no limit.
	RateLimit     *int   `json:"rate_limit"`
	Livemode      bool   `json:"livemode"`
	SigningSecret string `json:"signing_secret,omitempty"`
	CreatedAt     string `json:"created_at"`
	UpdatedAt     string `json:"updated_at"`
	// DisabledReason and DisabledAt say why and when the service disabled
	// the webhook (410 Gone, or failing for too long); null otherwise.
	DisabledReason *string `json:"disabled_reason"`
	DisabledAt     *string `json:"disabled_at"`
	// FailingSince is when the endpoint's attempts started failing, while
	// they keep failing; null otherwise.
	FailingSince *string `json:"failing_since"`
}

// webhookDetailJSON is a retrieved webhook: the webhook, its most recent
// event's delivery (null before any) and its circuit breaker.
type webhookDetailJSON struct {
	webhookJSON
	LastDelivery *lastDeliveryJSON `json:"last_delivery"`
	Breaker      breakerJSON       `json:"breaker"`
}

// breakerJSON is an endpoint's circuit breaker: closed, open (its
// deliveries wait until open_until) or half_open (one probe attempt goes).
type breakerJSON struct {
	State     string  `json:"state"`
	OpenUntil *string `json:"open_until"`
}

// toJSON renders a webhook; secret is shown only when a secret is made
// (a zero secret is left out).
func toJSON(w webhook.Webhook, secret webhook.SigningSecret) webhookJSON {
	out := webhookJSON{
		ID: w.ID, Object: "webhook", URL: w.URL, Events: w.Events,
		IsActive: w.IsActive, RetryEnabled: w.RetryEnabled, MaxRetries: w.MaxRetries,
		Livemode: w.Owner.Mode == tenant.Live, SigningSecret: secret.Reveal(),
		CreatedAt: w.CreatedAt.UTC().Format(time.RFC3339),
		UpdatedAt: w.UpdatedAt.UTC().Format(time.RFC3339),
	}
	if w.RateLimit > 0 {
		out.RateLimit = &w.RateLimit
	}
	if h := w.Health; h.DisabledReason != "" {
		out.DisabledReason, out.DisabledAt = &h.DisabledReason, optionalTime(h.DisabledAt)
	}
	out.FailingSince = optionalTime(w.Health.FailingSince)
	return out
}

// listJSON is the public JSON form of a page of webhooks.
type listJSON struct {
	Object  string        `json:"object"`
	URL     string        `json:"url"`
	Data    []webhookJSON `json:"data"`
	HasMore bool          `json:"has_more"`
}

// deletedJSON answers a delete.
type deletedJSON struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

// createWebhook serves POST /v1/webhooks.
func (h *Handler) createWebhook(ctx context.Context, c *call) (events.APIGatewayV2HTTPResponse, error) {
	key, params, err := acting(c, false, func(members map[string]json.RawMessage) (webhook.Settings, error) {
		return decodeCreate(h.dest, members)
	})
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	created, err := h.webhooks.Create(ctx, c.owner, params, key)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	resp := jsonResponse(http.StatusCreated, toJSON(created.Webhook, created.SigningSecret), c.requestID)
	resp.Headers["Location"] = "/v1/webhooks/" + created.Webhook.ID
	markReplayed(resp, created.Replayed)
	return resp, nil
}

// listWebhooks serves GET /v1/webhooks?limit=&starting_after=.
func (h *Handler) listWebhooks(ctx context.Context, c *call) (events.APIGatewayV2HTTPResponse, error) {
	limit, startingAfter, err := decodeList(c.req.QueryStringParameters)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	page, err := h.webhooks.List(ctx, c.owner, limit, startingAfter)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	out := listJSON{Object: "list", URL: "/v1/webhooks", Data: []webhookJSON{}, HasMore: page.HasMore}
	for _, w := range page.Webhooks {
		out.Data = append(out.Data, toJSON(w, webhook.SigningSecret{}))
	}
	return jsonResponse(http.StatusOK, out, c.requestID), nil
}

// getWebhook serves GET /v1/webhooks/{id}.
func (h *Handler) getWebhook(ctx context.Context, c *call) (events.APIGatewayV2HTTPResponse, error) {
	w, err := h.webhooks.Get(ctx, c.owner, c.id)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	out := webhookDetailJSON{webhookJSON: toJSON(w, webhook.SigningSecret{})}
	if out.LastDelivery, err = h.lastDelivery(ctx, w); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	state, until, err := h.deliveries.Breaker(ctx, w, time.Now())
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	out.Breaker = breakerJSON{State: string(state), OpenUntil: optionalTime(until)}
	return jsonResponse(http.StatusOK, out, c.requestID), nil
}

// updateWebhook serves PATCH /v1/webhooks/{id}.
func (h *Handler) updateWebhook(ctx context.Context, c *call) (events.APIGatewayV2HTTPResponse, error) {
	members, err := jsonObject(c.req, false)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	u, err := decodeUpdate(h.dest, members)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	w, err := h.webhooks.Update(ctx, c.owner, c.id, u)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return jsonResponse(http.StatusOK, toJSON(w, webhook.SigningSecret{}), c.requestID), nil
}

// deleteWebhook serves DELETE /v1/webhooks/{id}.
func (h *Handler) deleteWebhook(ctx context.Context, c *call) (events.APIGatewayV2HTTPResponse, error) {
	w, err := h.webhooks.Delete(ctx, c.owner, c.id)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return jsonResponse(http.StatusOK, deletedJSON{ID: w.ID, Object: "webhook", Deleted: true}, c.requestID), nil
}

// rotateSecret serves POST /v1/webhooks/{id}/rotate-secret.
func (h *Handler) rotateSecret(ctx context.Context, c *call) (events.APIGatewayV2HTTPResponse, error) {
	key, grace, err := acting(c, true, decodeRotate)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	r, err := h.webhooks.RotateSecret(ctx, c.owner, c.id, grace, key)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	resp := jsonResponse(http.StatusOK, toJSON(r.Webhook, r.SigningSecret), c.requestID)
	markReplayed(resp, r.Replayed)
	return resp, nil
}
