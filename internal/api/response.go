package api

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/apperr"
)

// Error types in the response body, as Stripe names them.
const (
	typeInvalidRequest = "invalid_request_error"
	typeAuthentication = "authentication_error"
	typeAPI            = "api_error"
	typeIdempotency    = "idempotency_error"
	typeRateLimit      = "rate_limit_error"
)

// retryAfterSeconds is sent with 503 answers and the 409 answers that
// clear up when the caller tries again a little later.
const retryAfterSeconds = "2"

// transientConflicts are the 409 codes that clear up by themselves.
var transientConflicts = []string{apperr.CodeWebhookBusy, apperr.CodeRotationInProgress, apperr.CodeDeliveryInProgress}

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

// errorDetail is the "error" member of an error response.
type errorDetail struct {
	Type      string              `json:"type"`
	Code      string              `json:"code"`
	Message   string              `json:"message"`
	Param     string              `json:"param,omitempty"`
	Details   []apperr.FieldError `json:"details,omitempty"`
	RequestID string              `json:"request_id"`
}

// statuses maps each error kind to its HTTP status and error type. This is
// the one place where that mapping lives.
var statuses = map[apperr.Kind]struct {
	status int
	typ    string
}{
	apperr.Invalid:               {http.StatusBadRequest, typeInvalidRequest},
	apperr.Unauthenticated:       {http.StatusUnauthorized, typeAuthentication},
	apperr.NotFound:              {http.StatusNotFound, typeInvalidRequest},
	apperr.MethodNotAllowed:      {http.StatusMethodNotAllowed, typeInvalidRequest},
	apperr.Conflict:              {http.StatusConflict, typeInvalidRequest},
	apperr.TooLarge:              {http.StatusRequestEntityTooLarge, typeInvalidRequest},
	apperr.UnsupportedMediaType:  {http.StatusUnsupportedMediaType, typeInvalidRequest},
	apperr.Unavailable:           {http.StatusServiceUnavailable, typeAPI},
	apperr.IdempotencyMismatch:   {http.StatusBadRequest, typeIdempotency},
	apperr.IdempotencyInProgress: {http.StatusConflict, typeIdempotency},
	apperr.IdempotencyGone:       {http.StatusGone, typeIdempotency},
	apperr.RateLimited:           {http.StatusTooManyRequests, typeRateLimit},
}

// statusOf returns the HTTP status and error type of a kind; unknown kinds
// and Internal are 500 api_error.
func statusOf(k apperr.Kind) (int, string) {
	if s, ok := statuses[k]; ok {
		return s.status, s.typ
	}
	return http.StatusInternalServerError, typeAPI
}

// errorResponse renders what the caller may see of err (apperr.Public).
// An internal error shows only a generic message and the request id, even
// when it is an *apperr.Error of kind Internal; the details stay in the
// log line.
func errorResponse(err error, requestID string) events.APIGatewayV2HTTPResponse {
	e := apperr.Public(err)
	if e.Kind == apperr.Internal {
		e = apperr.Public(nil)
	}
	status, typ := statusOf(e.Kind)
	detail := errorDetail{Type: typ, Code: e.Code, Message: e.Message, Param: e.Param,
		Details: e.Details, RequestID: requestID}
	resp := jsonResponse(status, errorBody{Error: detail}, requestID)
	switch e.Kind {
	case apperr.Unauthenticated:
		resp.Headers["WWW-Authenticate"] = `Bearer realm="webhooks"`
	case apperr.Unavailable, apperr.IdempotencyInProgress:
		resp.Headers["Retry-After"] = retryAfterSeconds
	case apperr.Conflict:
		// Only the conflicts that clear up by themselves: waiting does not
		// re-enable a webhook or bring back an expired event.
		if slices.Contains(transientConflicts, e.Code) {
			resp.Headers["Retry-After"] = retryAfterSeconds
		}
	case apperr.RateLimited:
		resp.Headers["Retry-After"] = strconv.Itoa(int(math.Ceil(max(e.RetryAfter, time.Second).Seconds())))
	}
	return resp
}

// jsonResponse renders v as a JSON response. Every response is marked
// no-store: bodies are private to one account, and some carry secrets.
func jsonResponse(status int, v any, requestID string) events.APIGatewayV2HTTPResponse {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)              // bodies are JSON for API clients, not HTML
	if err := enc.Encode(v); err != nil { // only unencodable values, a programming error
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":{"type":"api_error","code":"internal_error","message":"response encoding failed"}}`)
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers: map[string]string{
			"Content-Type":           "application/json",
			"Cache-Control":          "no-store",
			"X-Content-Type-Options": "nosniff",
			"X-Request-Id":           requestID,
		},
		Body: string(body),
	}
}

// markReplayed marks resp as the replay of an earlier request's answer
// when replayed: the Idempotency-Key had been used before.
func markReplayed(resp events.APIGatewayV2HTTPResponse, replayed bool) {
	if replayed {
		resp.Headers["Idempotent-Replayed"] = "true"
	}
}
