package api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/api"
	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/awserr"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/egress"
	"github.com/docproc/webhooks/internal/metrics"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// The handler's decisions, over small fakes of its ports: no emulator.

// testKey is the one key fakeAuth knows; testOwner is whose it is.
const testKey = "dk_test_4eC39HqLyjWDarjtT1zdp7dc"

var testOwner = tenant.Tenant{Account: "acct_1", Mode: tenant.Test}

// fakeAuth knows testKey.
type fakeAuth struct{}

func (fakeAuth) Authenticate(_ context.Context, raw string) (tenant.Tenant, error) {
	if raw != testKey {
		return tenant.Tenant{}, apperr.New(apperr.Unauthenticated, apperr.CodeAPIKeyInvalid, "the API key is not valid")
	}
	return testOwner, nil
}

// fakeWebhooks answers Get with get and Create with create; any other
// method, left to the nil interface, panics (a 500 the test sees).
type fakeWebhooks struct {
	api.Webhooks
	get    func(id string) (webhook.Webhook, error)
	create func(p webhook.Settings, key string) (webhook.WithSecret, error)
}

func (f fakeWebhooks) Get(_ context.Context, _ tenant.Tenant, id string) (webhook.Webhook, error) {
	return f.get(id)
}

func (f fakeWebhooks) Create(_ context.Context, _ tenant.Tenant, p webhook.Settings, key string) (webhook.WithSecret, error) {
	return f.create(p, key)
}

// fakeDeliveries answers Retry with retry, and reads as a webhook without
// deliveries and with a closed breaker.
type fakeDeliveries struct {
	api.Deliveries
	retry func(webhookID, deliveryID, key string) (delivery.Summary, bool, error)
}

func (f fakeDeliveries) Retry(_ context.Context, _ tenant.Tenant, webhookID, deliveryID, key string) (delivery.Summary, bool, error) {
	return f.retry(webhookID, deliveryID, key)
}

func (fakeDeliveries) Latest(context.Context, webhook.Webhook) (*delivery.Summary, error) {
	return nil, nil
}

func (fakeDeliveries) Breaker(context.Context, webhook.Webhook, time.Time) (delivery.BreakerState, time.Time, error) {
	return delivery.BreakerClosed, time.Time{}, nil
}

// serve sends one request with testKey to a handler over w and d.
func serve(t *testing.T, w api.Webhooks, d api.Deliveries, method, path, body string, headers map[string]string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	h := api.New(fakeAuth{}, w, d, slog.New(slog.NewJSONHandler(io.Discard, nil)), metrics.New(io.Discard, ""), egress.Rules{})
	hs := map[string]string{"Authorization": "Bearer " + testKey}
	if body != "" {
		hs["Content-Type"] = "application/json"
	}
	for k, v := range headers {
		hs[k] = v
	}
	resp, err := h.Handle(context.Background(), request(method, path, body, hs))
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	return resp
}

// Each error a service returns is answered with its status and code; an
// unexpected one is a 500 that says nothing of it.
func TestServiceErrorsMapToTheirStatus(t *testing.T) {
	for _, c := range []struct {
		err        error
		status     int
		code       string
		retryAfter string
	}{
		{webhook.NotFound("wh_01M8SGYQ9YKF9CTDV3NSF785K9"), 404, apperr.CodeResourceMissing, ""},
		{apperr.New(apperr.Conflict, apperr.CodeWebhookBusy, "busy"), 409, apperr.CodeWebhookBusy, "2"},
		{apperr.New(apperr.Conflict, apperr.CodeWebhookDisabled, "disabled"), 409, apperr.CodeWebhookDisabled, ""},
		{fmt.Errorf("read: %w", awserr.Unavailable("dynamodb GetItem", errors.New("throttled"))), 503, apperr.CodeServiceUnavailable, "2"},
		{errors.New("table dropped"), 500, apperr.CodeInternalError, ""},
	} {
		w := fakeWebhooks{get: func(string) (webhook.Webhook, error) { return webhook.Webhook{}, c.err }}
		resp := serve(t, w, fakeDeliveries{}, "GET", "/v1/webhooks/wh_01M8SGYQ9YKF9CTDV3NSF785K9", "", nil)
		if resp.StatusCode != c.status || errorOf(t, resp)["code"] != c.code || resp.Headers["Retry-After"] != c.retryAfter {
			t.Errorf("%v: %d %s Retry-After %q; want %d %s %q", c.err, resp.StatusCode, resp.Body,
				resp.Headers["Retry-After"], c.status, c.code, c.retryAfter)
		}
		if strings.Contains(resp.Body, "table dropped") {
			t.Errorf("a 500 showed its cause: %s", resp.Body)
		}
	}
}

// A request the service reports as done before (a replay under its
// Idempotency-Key) is answered as a success, marked as a replay.
func TestReplayedRequestsAreAnsweredAsSuccess(t *testing.T) {
	retried := delivery.Summary{ID: "msg_01M8SGYQ9YKF9CTDV3NSF785K9"}
	d := fakeDeliveries{retry: func(webhookID, deliveryID, key string) (delivery.Summary, bool, error) {
		if webhookID != "wh_01M8SGYQ9YKF9CTDV3NSF785K9" || deliveryID != retried.ID || key != "k1" {
			t.Errorf("Retry(%q, %q, %q)", webhookID, deliveryID, key)
		}
		return retried, true, nil
	}}
	resp := serve(t, fakeWebhooks{}, d, "POST", "/v1/webhooks/wh_01M8SGYQ9YKF9CTDV3NSF785K9/deliveries/"+retried.ID+"/retry", "",
		map[string]string{"Idempotency-Key": "k1"})
	if resp.StatusCode != 202 || resp.Headers["Idempotent-Replayed"] != "true" || decode(t, resp)["id"] != retried.ID {
		t.Errorf("replayed retry: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}

	made := webhook.WithSecret{Webhook: webhook.Webhook{ID: "wh_01M8SGYQ9YKF9CTDV3NSF785K9", Owner: testOwner}, Replayed: true}
	w := fakeWebhooks{create: func(webhook.Settings, string) (webhook.WithSecret, error) { return made, nil }}
	resp = serve(t, w, fakeDeliveries{}, "POST", "/v1/webhooks", `{"url":"https://example.com/hook"}`, map[string]string{"Idempotency-Key": "k2"})
	if resp.StatusCode != 201 || resp.Headers["Idempotent-Replayed"] != "true" || resp.Headers["Location"] != "/v1/webhooks/"+made.Webhook.ID {
		t.Errorf("replayed create: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
}

// A request that fails authentication or decoding never reaches the
// service: the fakes' nil methods would panic into a 500.
func TestRefusedRequestsNeverReachTheService(t *testing.T) {
	h := api.New(fakeAuth{}, fakeWebhooks{}, fakeDeliveries{}, slog.New(slog.NewJSONHandler(io.Discard, nil)), metrics.New(io.Discard, ""), egress.Rules{})
	resp, _ := h.Handle(context.Background(), request("GET", "/v1/webhooks", "", map[string]string{"Authorization": "Bearer dk_test_other"}))
	if resp.StatusCode != 401 {
		t.Errorf("unknown key: %d %s", resp.StatusCode, resp.Body)
	}
	resp = serve(t, fakeWebhooks{}, fakeDeliveries{}, "POST", "/v1/webhooks", `{"url":"http://example.com/"}`, nil)
	if resp.StatusCode != 400 || errorOf(t, resp)["code"] != apperr.CodeURLInvalid {
		t.Errorf("bad url: %d %s", resp.StatusCode, resp.Body)
	}
}

// An API key or a signing secret sent by mistake in a path, where an id
// goes or anywhere else, is never repeated in the answer.
func TestCredentialsInPathsAreNotEchoed(t *testing.T) {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	w := fakeWebhooks{get: func(id string) (webhook.Webhook, error) { return webhook.Webhook{}, webhook.NotFound(id) }}
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/v1/webhooks/" + testKey, 404},
		{"GET", "/v1/webhooks/" + secret, 404},
		{"GET", "/v1/" + testKey, 404},
		{"GET", "/v1/webhooks/" + secret + "/" + testKey, 404},
		{"PUT", "/v1/webhooks/" + testKey, 405},
		{"GET", "/v1/dk%5Ftest%5F4eC39HqLyjWDarjtT1zdp7dc", 404},
		{"GET", "/v1/%64k_test_4eC39HqLyjWDarjtT1zdp7dc", 404},
		{"GET", "/v1/whsec%5FMfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 404},
	} {
		resp := serve(t, w, fakeDeliveries{}, c.method, c.path, "", nil)
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: %d %s; want %d", c.method, c.path, resp.StatusCode, resp.Body, c.status)
		}
		if strings.Contains(resp.Body, "4eC39HqLyjWDarjtT1zdp7dc") || strings.Contains(resp.Body, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") {
			t.Errorf("%s %s answered with the credential: %s", c.method, c.path, resp.Body)
		}
	}
}
