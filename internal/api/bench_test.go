package api

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/egress"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// The request path without I/O: body decoding, settings rules and response rendering.

func BenchmarkDecodeBody(b *testing.B) {
	req := events.APIGatewayV2HTTPRequest{
		Headers: map[string]string{"content-type": "application/json"},
		Body:    `{"url":"https://hooks.example.com/docproc/events","events":["document.uploaded"],"max_retries":7}`,
	}
	for b.Loop() {
		if _, err := jsonObject(req, false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeCreate(b *testing.B) {
	members := map[string]json.RawMessage{
		"url":         json.RawMessage(`"https://hooks.example.com/docproc/events?tenant=42"`),
		"events":      json.RawMessage(`["document.uploaded","document.processing.failed"]`),
		"is_active":   json.RawMessage(`true`),
		"max_retries": json.RawMessage(`7`),
	}
	for b.Loop() {
		if _, err := decodeCreate(egress.Rules{}, members); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderCreated(b *testing.B) {
	w := webhook.Webhook{ID: "wh_01M8E489BDY4F8F1VPT4Q8QZXW", Owner: tenant.Tenant{Account: "acct_1", Mode: tenant.Live},
		Settings: webhook.Settings{URL: "https://hooks.example.com/docproc/events", Events: webhook.DefaultEvents,
			IsActive: true, RetryEnabled: true, MaxRetries: 5},
		CreatedAt: time.Now(), UpdatedAt: time.Now()}
	for b.Loop() {
		_ = jsonResponse(201, toJSON(w, webhook.SigningSecretOf("whsec_W4yf2gXGBJcdWAFH+xeow27OObjwhRL/s1DEQijh160=")), "req-1")
	}
}

func BenchmarkRenderValidationError(b *testing.B) {
	err := apperr.Validation([]apperr.FieldError{
		{Param: "url", Code: "url_invalid", Message: "url must use https"},
		{Param: "max_retries", Code: "max_retries_invalid", Message: "max_retries must be a whole number from 0 to 10"},
	})
	for b.Loop() {
		_ = errorResponse(err, "req-1")
	}
}
