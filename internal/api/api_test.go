package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/awserr"
	"github.com/docproc/webhooks/internal/egress"
	"github.com/docproc/webhooks/internal/metrics"
	"github.com/docproc/webhooks/internal/webhook"
)

func TestStatusOf(t *testing.T) {
	cases := []struct {
		kind   apperr.Kind
		status int
		typ    string
	}{
		{apperr.Invalid, 400, "invalid_request_error"},
		{apperr.Unauthenticated, 401, "authentication_error"},
		{apperr.NotFound, 404, "invalid_request_error"},
		{apperr.MethodNotAllowed, 405, "invalid_request_error"},
		{apperr.Conflict, 409, "invalid_request_error"},
		{apperr.TooLarge, 413, "invalid_request_error"},
		{apperr.UnsupportedMediaType, 415, "invalid_request_error"},
		{apperr.Unavailable, 503, "api_error"},
		{apperr.Internal, 500, "api_error"},
	}
	for _, c := range cases {
		if status, typ := statusOf(c.kind); status != c.status || typ != c.typ {
			t.Errorf("statusOf(%s) = %d %s, want %d %s", c.kind, status, typ, c.status, c.typ)
		}
	}
}

func TestErrorResponseHidesInternals(t *testing.T) {
	internal := fmt.Errorf("put item arn:aws:dynamodb:eu-west-1:123456789012:table/x: %w", errors.New("boom"))
	wrapped := &apperr.Error{Kind: apperr.Internal, Code: "db_broke", Message: "table x is gone", Cause: internal}
	dep := awserr.Unavailable("dynamodb PutItem", internal)
	for _, err := range []error{internal, wrapped, fmt.Errorf("ctx: %w", dep)} {
		resp := errorResponse(err, "req-1")
		for _, leak := range []string{"arn:", "boom", "table x", "db_broke", "dynamodb"} {
			if strings.Contains(resp.Body, leak) {
				t.Errorf("body %s shows %q", resp.Body, leak)
			}
		}
		if !strings.Contains(resp.Body, `"request_id":"req-1"`) {
			t.Errorf("body %s lacks the request id", resp.Body)
		}
	}
	if resp := errorResponse(dep, "r"); resp.StatusCode != 503 || resp.Headers["Retry-After"] == "" {
		t.Errorf("dependency error: status %d, Retry-After %q", resp.StatusCode, resp.Headers["Retry-After"])
	}
	if resp := errorResponse(internal, "r"); resp.StatusCode != 500 || !strings.Contains(resp.Body, `"code":"internal_error"`) {
		t.Errorf("internal error: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestErrorResponseShape(t *testing.T) {
	err := apperr.Validation([]apperr.FieldError{
		{Param: "url", Code: "url_invalid", Message: "url must use https"},
		{Param: "max_retries", Code: "max_retries_invalid", Message: "m"},
	})
	resp := errorResponse(err, "req-9")
	want := `{"error":{"type":"invalid_request_error","code":"url_invalid","message":"url must use https","param":"url",` +
		`"details":[{"param":"url","code":"url_invalid","message":"url must use https"},` +
		`{"param":"max_retries","code":"max_retries_invalid","message":"m"}],"request_id":"req-9"}}`
	if resp.Body != want || resp.StatusCode != 400 {
		t.Errorf("got %d %s\nwant 400 %s", resp.StatusCode, resp.Body, want)
	}
	if resp.Headers["Content-Type"] != "application/json" || resp.Headers["Cache-Control"] != "no-store" {
		t.Errorf("headers = %v", resp.Headers)
	}
}

func TestDecodeObject(t *testing.T) {
	cases := []struct {
		body string
		code string // "" means ok
	}{
		{`{"url":"x"}`, ""},
		{` {"a":{"b":[1,2]},"c":null} `, ""},
		{`{}`, ""},
		{``, "body_invalid"},
		{`   `, "body_invalid"},
		{`[]`, "body_invalid"},
		{`"x"`, "body_invalid"},
		{`null`, "body_invalid"},
		{`{"a":1}{"b":2}`, "body_invalid"},
		{`{"a":1,}`, "body_invalid"},
		{`{"a":1,"a":2}`, "parameter_duplicated"},
		{`{"a":"\u00e9\ud83d\ude00 \\ud800"}`, ""},              // é, a surrogate pair, and an escaped backslash before "ud800"
		{"{\"a\":\"\xff\"}", "parameter_invalid_encoding"},      // json.Valid accepts invalid UTF-8 in strings
		{`{"a":"\ud800"}`, "parameter_invalid_encoding"},        // a lone high surrogate
		{`{"a":"\udc00x"}`, "parameter_invalid_encoding"},       // a lone low surrogate
		{`{"a":"\ud800\u0041"}`, "parameter_invalid_encoding"},  // a high surrogate, then no low one
		{`{"a":["ok","\ud800"]}`, "parameter_invalid_encoding"}, // nested
		{`{"a":"x\ud800"}`, "parameter_invalid_encoding"},       // at the end of the string
		{"{\"\xff\":1}", "body_invalid"},                        // in a member name
	}
	for _, c := range cases {
		_, err := decodeObject([]byte(c.body))
		got := ""
		if e := apperr.As(err); e != nil {
			got = e.Code
		} else if err != nil {
			got = "non-apperr: " + err.Error()
		}
		if got != c.code {
			t.Errorf("decodeObject(%q) = %q, want %q", c.body, got, c.code)
		}
	}
}

func TestBodyLimitsAndBase64(t *testing.T) {
	exact := strings.Repeat("a", MaxBodyBytes)
	cases := []struct {
		name string
		req  events.APIGatewayV2HTTPRequest
		kind apperr.Kind
		want string
	}{
		{"plain at limit", events.APIGatewayV2HTTPRequest{Body: exact}, -1, exact},
		{"plain over limit", events.APIGatewayV2HTTPRequest{Body: exact + "a"}, apperr.TooLarge, ""},
		{"base64", events.APIGatewayV2HTTPRequest{Body: base64.StdEncoding.EncodeToString([]byte(`{"a":1}`)), IsBase64Encoded: true}, -1, `{"a":1}`},
		{"base64 at limit", events.APIGatewayV2HTTPRequest{Body: base64.StdEncoding.EncodeToString([]byte(exact)), IsBase64Encoded: true}, -1, exact},
		{"base64 over limit", events.APIGatewayV2HTTPRequest{Body: base64.StdEncoding.EncodeToString([]byte(exact + "a")), IsBase64Encoded: true}, apperr.TooLarge, ""},
		{"bad base64", events.APIGatewayV2HTTPRequest{Body: "!!!", IsBase64Encoded: true}, apperr.Invalid, ""},
	}
	for _, c := range cases {
		b, err := body(c.req)
		if c.kind == -1 {
			if err != nil || string(b) != c.want {
				t.Errorf("%s: err %v, %d bytes", c.name, err, len(b))
			}
			continue
		}
		if apperr.KindOf(err) != c.kind || err == nil {
			t.Errorf("%s: err = %v, want kind %s", c.name, err, c.kind)
		}
	}
}

func TestContentType(t *testing.T) {
	for ct, ok := range map[string]bool{
		"application/json": true, "application/json; charset=utf-8": true, "Application/JSON; charset=UTF-8": true,
		"": false, "text/plain": false, "application/json; charset=latin1": false,
		"application/x-www-form-urlencoded": false, "application/jsonx": false, "application/json;;": false,
	} {
		err := checkJSONContentType(events.APIGatewayV2HTTPRequest{Headers: map[string]string{"content-type": ct}})
		if (err == nil) != ok {
			t.Errorf("Content-Type %q: err = %v, want ok=%v", ct, err, ok)
		}
	}
}

func TestAPIKeyHeaders(t *testing.T) {
	cases := []struct {
		headers map[string]string
		key     string
		bad     bool
	}{
		{map[string]string{"authorization": "Bearer k1"}, "k1", false},
		{map[string]string{"authorization": "bearer  k1 "}, "k1", false},
		{map[string]string{"x-api-key": "k2"}, "k2", false},
		{map[string]string{"X-Api-Key": "k3"}, "k3", false},
		{map[string]string{"authorization": "Bearer k1", "x-api-key": "k1"}, "k1", false},
		{map[string]string{"authorization": "Bearer k1", "x-api-key": "k2"}, "", true},
		{map[string]string{"authorization": "Basic abc"}, "", true},
		{map[string]string{"authorization": "k1"}, "", true},
		{map[string]string{}, "", false},
	}
	for _, c := range cases {
		key, err := apiKey(events.APIGatewayV2HTTPRequest{Headers: c.headers})
		if key != c.key || (err != nil) != c.bad {
			t.Errorf("apiKey(%v) = %q, %v; want %q, bad=%v", c.headers, key, err, c.key, c.bad)
		}
	}
}

func TestRequestPath(t *testing.T) {
	mk := func(raw, stage string) events.APIGatewayV2HTTPRequest {
		r := events.APIGatewayV2HTTPRequest{RawPath: raw}
		r.RequestContext.Stage = stage
		return r
	}
	for _, c := range []struct {
		req  events.APIGatewayV2HTTPRequest
		want string
	}{
		{mk("/v1/webhooks", "$default"), "/v1/webhooks"},
		{mk("/prod/v1/webhooks", "prod"), "/v1/webhooks"},
		{mk("/prod", "prod"), "/"},
		{mk("/v1/webhooks", ""), "/v1/webhooks"},
	} {
		if got := requestPath(c.req); got != c.want {
			t.Errorf("requestPath(%q, %q) = %q, want %q", c.req.RawPath, c.req.RequestContext.Stage, got, c.want)
		}
	}
}

func TestHandleTurnsAPanicIntoAJSON500(t *testing.T) {
	var logs strings.Builder
	h := New(nil, nil, nil, slog.New(slog.NewJSONHandler(&logs, nil)), metrics.New(&logs, ""), egress.Rules{}) // a nil authenticator panics when used
	req := events.APIGatewayV2HTTPRequest{RawPath: "/v1/webhooks", Headers: map[string]string{"x-api-key": "dk_test_" + strings.Repeat("a", 24)}}
	req.RequestContext.HTTP.Method = "POST"
	req.RequestContext.RequestID = "req-panic"
	resp, err := h.Handle(context.Background(), req)
	if err != nil || resp.StatusCode != 500 || !strings.Contains(resp.Body, `"code":"internal_error"`) {
		t.Fatalf("Handle = %d %s, %v; want a JSON 500", resp.StatusCode, resp.Body, err)
	}
	if !strings.Contains(logs.String(), `"request_id":"req-panic"`) || !strings.Contains(logs.String(), "panic") {
		t.Errorf("the panic was not logged with the request id: %s", logs.String())
	}
}

// The access line and the metrics carry the code of an error the caller
// was meant to see, including a dependency's 503, and no code for an
// unexpected internal error (the caller sees internal_error; the log line
// has the error itself).
func TestShownError(t *testing.T) {
	plain := errors.New("boom")
	for _, c := range []struct {
		err  error
		code string
	}{
		{nil, ""},
		{plain, ""},
		{fmt.Errorf("wrapped: %w", plain), ""},
		{awserr.Unavailable("dynamodb GetItem", plain), apperr.CodeServiceUnavailable},
		{webhook.NotFound("wh_x"), apperr.CodeResourceMissing},
		{&apperr.Error{Kind: apperr.Internal, Code: "db_broke"}, "db_broke"},
	} {
		e, ok := shownError(c.err)
		if ok != (c.code != "") || (ok && e.Code != c.code) {
			t.Errorf("shownError(%v) = %v, %v; want code %q", c.err, e, ok, c.code)
		}
	}
}
