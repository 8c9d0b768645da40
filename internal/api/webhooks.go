package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// webhookJSON is the public JSON form of a webhook.
type webhookJSON struct {
	ID            string          `json:"id"`
	Object        string          `json:"object"`
	URL           string          `json:"url"`
	Events        []webhook.Event `json:"events"`
	IsActive      bool            `json:"is_active"`
	RetryEnabled  bool            `json:"retry_enabled"`
	MaxRetries    int             `json:"max_retries"`
	Livemode      bool            `json:"livemode"`
	SigningSecret string          `json:"signing_secret,omitempty"`
	CreatedAt     string          `json:"created_at"`
	UpdatedAt     string          `json:"updated_at"`
}

// toJSON renders a webhook; secret is set only when a secret is made.
func toJSON(w webhook.Webhook, secret string) webhookJSON {
	return webhookJSON{
		ID: w.ID, Object: "webhook", URL: w.URL, Events: w.Events,
		IsActive: w.IsActive, RetryEnabled: w.RetryEnabled, MaxRetries: w.MaxRetries,
		Livemode: w.Owner.Mode == tenant.Live, SigningSecret: secret,
		CreatedAt: w.CreatedAt.UTC().Format(time.RFC3339),
		UpdatedAt: w.UpdatedAt.UTC().Format(time.RFC3339),
	}
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

// jsonObject reads the request body as a JSON object. An empty body is
// allowed (nil members) only when optional is set.
func jsonObject(req events.APIGatewayV2HTTPRequest, optional bool) (map[string]json.RawMessage, error) {
	b, err := body(req)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 && optional {
		return nil, nil
	}
	if len(b) > 0 {
		if err := checkJSONContentType(req); err != nil {
			return nil, err
		}
	}
	return decodeObject(b)
}

// createWebhook serves POST /v1/webhooks.
func (h *Handler) createWebhook(ctx context.Context, c *call) (events.APIGatewayV2HTTPResponse, error) {
	key, err := idempotencyKey(c.req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	members, err := jsonObject(c.req, false)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	params, err := webhook.ParseCreateParams(members)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	created, err := h.webhooks.Create(ctx, c.owner, params, key)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	resp := jsonResponse(http.StatusCreated, toJSON(created.Webhook, created.SigningSecret), c.requestID)
	resp.Headers["Location"] = "/v1/webhooks/" + created.Webhook.ID
	if created.Replayed {
		resp.Headers["Idempotent-Replayed"] = "true"
	}
	return resp, nil
}

// listWebhooks serves GET /v1/webhooks?limit=&starting_after=.
func (h *Handler) listWebhooks(ctx context.Context, c *call) (events.APIGatewayV2HTTPResponse, error) {
	limit := webhook.DefaultPageSize
	var startingAfter string
	var problems []apperr.FieldError
	for name, v := range c.req.QueryStringParameters {
		switch name {
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > webhook.MaxPageSize || strconv.Itoa(n) != v {
				problems = append(problems, apperr.FieldError{Param: "limit", Code: "limit_invalid",
					Message: "limit must be a whole number from 1 to " + strconv.Itoa(webhook.MaxPageSize)})
				continue
			}
			limit = n
		case "starting_after":
			if v == "" {
				problems = append(problems, apperr.FieldError{Param: "starting_after", Code: "starting_after_invalid",
					Message: "starting_after must be the id of one of your webhooks; leave it out for the first page"})
				continue
			}
			startingAfter = v
		default:
			problems = append(problems, apperr.FieldError{Param: name, Code: webhook.CodeParameterUnknown,
				Message: "unknown query parameter " + strconv.Quote(name)})
		}
	}
	if len(problems) > 0 {
		return events.APIGatewayV2HTTPResponse{}, apperr.Validation(problems)
	}
	page, err := h.webhooks.List(ctx, c.owner, limit, startingAfter)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	out := listJSON{Object: "list", URL: "/v1/webhooks", Data: []webhookJSON{}, HasMore: page.HasMore}
	for _, w := range page.Webhooks {
		out.Data = append(out.Data, toJSON(w, ""))
	}
	return jsonResponse(http.StatusOK, out, c.requestID), nil
}

// getWebhook serves GET /v1/webhooks/{id}.
func (h *Handler) getWebhook(ctx context.Context, c *call) (events.APIGatewayV2HTTPResponse, error) {
	w, err := h.webhooks.Get(ctx, c.owner, c.id)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return jsonResponse(http.StatusOK, toJSON(w, ""), c.requestID), nil
}

// updateWebhook serves PATCH /v1/webhooks/{id}.
func (h *Handler) updateWebhook(ctx context.Context, c *call) (events.APIGatewayV2HTTPResponse, error) {
	members, err := jsonObject(c.req, false)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	u, err := webhook.ParseUpdateParams(members)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	w, err := h.webhooks.Update(ctx, c.owner, c.id, u)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return jsonResponse(http.StatusOK, toJSON(w, ""), c.requestID), nil
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
	key, err := idempotencyKey(c.req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	members, err := jsonObject(c.req, true)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	grace, err := webhook.ParseRotateParams(members)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	r, err := h.webhooks.RotateSecret(ctx, c.owner, c.id, grace, key)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	resp := jsonResponse(http.StatusOK, toJSON(r.Webhook, r.SigningSecret), c.requestID)
	if r.Replayed {
		resp.Headers["Idempotent-Replayed"] = "true"
	}
	return resp, nil
}
