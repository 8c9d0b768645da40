package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/webhook"
)

// deliveryJSON is the public JSON form of a delivery: one event sent to
// one webhook.
type deliveryJSON struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"`
	WebhookID     string            `json:"webhook_id"`
	EventID       string            `json:"event_id"`
	EventType     webhook.EventType `json:"event_type"`
	EventTime     string            `json:"event_time"`
	Test          bool              `json:"test"`
	State         string            `json:"state"`
	Reason        *string           `json:"reason"`
	AttemptCount  int               `json:"attempt_count"`
	NextAttemptAt *string           `json:"next_attempt_at"`
	LastAttemptAt *string           `json:"last_attempt_at"`
	LastStatus    *int              `json:"last_status"`
	LastError     *string           `json:"last_error"`
	CreatedAt     string            `json:"created_at"`
	UpdatedAt     string            `json:"updated_at"`
}

// deliveryDetailJSON is one delivery with its attempts and payload.
type deliveryDetailJSON struct {
	deliveryJSON
	Attempts []attemptJSON `json:"attempts"`
	// Payload is the body every attempt sent, exactly: a string, so that
	// no re-encoding changes a byte and signatures can be checked on it.
	Payload *string `json:"payload"`
}

// attemptJSON is one attempt of a delivery.
type attemptJSON struct {
	Number       int     `json:"number"`
	AttemptedAt  string  `json:"attempted_at"`
	DurationMS   int64   `json:"duration_ms"`
	URL          string  `json:"url"`
	Status       *int    `json:"status"`
	Error        *string `json:"error"`
	ResponseBody *string `json:"response_body"`
}

// deliveryListJSON is a page of deliveries.
type deliveryListJSON struct {
	Object  string         `json:"object"`
	URL     string         `json:"url"`
	Data    []deliveryJSON `json:"data"`
	HasMore bool           `json:"has_more"`
	// NextStartingAfter continues the list when HasMore: the last
	// delivery of the page, or the last one a filtered page looked at.
	NextStartingAfter *string `json:"next_starting_after"`
}

// windowJSON is a recovery's window.
type windowJSON struct {
	Since         string  `json:"since"`
	Until         string  `json:"until"`
	StartingAfter *string `json:"starting_after"`
}

// recoveryJSON answers a recover request.
type recoveryJSON struct {
	Object    string `json:"object"`
	WebhookID string `json:"webhook_id"`
	windowJSON
	Queued     int         `json:"queued"`
	Deliveries []string    `json:"deliveries"`
	HasMore    bool        `json:"has_more"`
	Next       *windowJSON `json:"next"`
}

// lastDeliveryJSON is a webhook's most recent delivery, in its health.
type lastDeliveryJSON struct {
	ID    string `json:"id"`
	State string `json:"state"`
	At    string `json:"at"`
}

// timeJSON writes t in RFC 3339, UTC, to the second.
func timeJSON(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// optionalTime is t as timeJSON, or nil when t is zero.
func optionalTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := timeJSON(t)
	return &s
}

// optional is a pointer to v, or nil when v is its zero value.
func optional[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// toDeliveryJSON renders a delivery of webhook webhookID.
func toDeliveryJSON(webhookID string, d delivery.Summary) deliveryJSON {
	out := deliveryJSON{
		ID: d.ID, Object: "delivery", WebhookID: webhookID, EventID: d.EventID, EventType: d.EventType,
		EventTime: timeJSON(d.EventTime), Test: d.Test, State: string(d.State), Reason: optional(d.Reason),
		AttemptCount: d.Attempts, LastAttemptAt: optionalTime(d.LastAttemptAt), LastStatus: optional(d.LastStatus),
		LastError: optional(string(d.LastError)), CreatedAt: timeJSON(d.CreatedAt), UpdatedAt: timeJSON(d.UpdatedAt),
	}
	if d.State == delivery.StatePending {
		out.NextAttemptAt = optionalTime(d.NextAttemptAt)
	}
	return out
}

// listDeliveries serves GET /v1/webhooks/{id}/deliveries.
func (h *Handler) listDeliveries(ctx context.Context, c *call) (events.APIGatewayV2HTTPResponse, error) {
	q, err := decodeDeliveriesQuery(c.req.QueryStringParameters)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	page, err := h.deliveries.List(ctx, c.owner, c.id, q.filter, q.limit, q.startingAfter)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	out := deliveryListJSON{Object: "list", URL: "/v1/webhooks/" + c.id + "/deliveries", Data: []deliveryJSON{}, HasMore: page.HasMore}
	for _, d := range page.Deliveries {
		out.Data = append(out.Data, toDeliveryJSON(c.id, d))
	}
	if page.HasMore {
		out.NextStartingAfter = optional(page.Next)
	}
	return jsonResponse(http.StatusOK, out, c.requestID), nil
}

// getDelivery serves GET /v1/webhooks/{id}/deliveries/{delivery_id}.
func (h *Handler) getDelivery(ctx context.Context, c *call) (events.APIGatewayV2HTTPResponse, error) {
	d, err := h.deliveries.Get(ctx, c.owner, c.id, c.deliveryID)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	out := deliveryDetailJSON{deliveryJSON: toDeliveryJSON(c.id, d.Summary), Attempts: []attemptJSON{}}
	for _, a := range d.Attempts {
		out.Attempts = append(out.Attempts, attemptJSON{Number: a.Number, AttemptedAt: a.At.UTC().Format(time.RFC3339Nano),
			DurationMS: a.Response.Duration.Milliseconds(), URL: a.URL, Status: optional(a.Response.Status),
			Error: optional(string(a.Response.Error)), ResponseBody: optional(string(a.Response.Body))})
	}
	if d.Payload != nil {
		p := string(d.Payload)
		out.Payload = &p
	}
	return jsonResponse(http.StatusOK, out, c.requestID), nil
}

// retryDelivery serves POST /v1/webhooks/{id}/deliveries/{delivery_id}/retry.
func (h *Handler) retryDelivery(ctx context.Context, c *call) (events.APIGatewayV2HTTPResponse, error) {
	return queueSends(c, true, decodeNone, func(key string, _ struct{}) (delivery.Summary, bool, error) {
		return h.deliveries.Retry(ctx, c.owner, c.id, c.deliveryID, key)
	}, c.deliveryJSON)
}

// testWebhook serves POST /v1/webhooks/{id}/test.
func (h *Handler) testWebhook(ctx context.Context, c *call) (events.APIGatewayV2HTTPResponse, error) {
	return queueSends(c, false, decodeTest, func(key string, typ webhook.EventType) (delivery.Summary, bool, error) {
		return h.deliveries.Test(ctx, c.owner, c.id, typ, key)
	}, c.deliveryJSON)
}

// recoverWebhook serves POST /v1/webhooks/{id}/recover.
func (h *Handler) recoverWebhook(ctx context.Context, c *call) (events.APIGatewayV2HTTPResponse, error) {
	return queueSends(c, false, decodeRecover, func(key string, win delivery.Window) (delivery.Recovery, bool, error) {
		return h.deliveries.Recover(ctx, c.owner, c.id, win, key)
	}, toRecoveryJSON)
}

// queueSends serves a POST that queues sends: it reads the request with
// acting (its body, which may be left out when optional, with decode),
// makes the sends with send and answers 202 with the result as render
// shows it, marked when send replayed an earlier request's.
func queueSends[T, R any](c *call, optional bool, decode func(map[string]json.RawMessage) (T, error),
	send func(idempotencyKey string, v T) (R, bool, error), render func(R) any) (events.APIGatewayV2HTTPResponse, error) {
	key, v, err := acting(c, optional, decode)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	r, replayed, err := send(key, v)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	resp := jsonResponse(http.StatusAccepted, render(r), c.requestID)
	markReplayed(resp, replayed)
	return resp, nil
}

// deliveryJSON renders a delivery of the call's webhook.
func (c *call) deliveryJSON(d delivery.Summary) any { return toDeliveryJSON(c.id, d) }

// toRecoveryJSON renders a recovery.
func toRecoveryJSON(r delivery.Recovery) any {
	out := recoveryJSON{Object: "recovery", WebhookID: r.WebhookID, windowJSON: toWindowJSON(r.Window),
		Queued: len(r.Deliveries), Deliveries: r.Deliveries, HasMore: r.HasMore}
	if r.HasMore {
		next := toWindowJSON(r.Next)
		out.Next = &next
	}
	return out
}

// toWindowJSON renders a recovery window, to the nanosecond so that a
// next window loses no event.
func toWindowJSON(w delivery.Window) windowJSON {
	return windowJSON{Since: w.Since.UTC().Format(time.RFC3339Nano), Until: w.Until.UTC().Format(time.RFC3339Nano),
		StartingAfter: optional(w.StartingAfter)}
}

// lastDelivery is w's most recent delivery for its health, or nil.
func (h *Handler) lastDelivery(ctx context.Context, w webhook.Webhook) (*lastDeliveryJSON, error) {
	d, err := h.deliveries.Latest(ctx, w)
	if err != nil || d == nil {
		return nil, err
	}
	at := d.UpdatedAt
	if !d.LastAttemptAt.IsZero() {
		at = d.LastAttemptAt
	}
	return &lastDeliveryJSON{ID: d.ID, State: string(d.State), At: timeJSON(at)}, nil
}
