// Package api turns API Gateway HTTP API (payload 2.0) events into calls on
// the webhook and delivery domains, through the ports it declares
// (ports.go), and renders the answers as JSON. It routes, checks
// authentication, decodes requests (body.go, decoder.go, params_*.go), maps
// errors to statuses in one place (response.go) and writes one structured
// log line per request. No answer repeats a credential the caller sent.
package api

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/egress"
	"github.com/docproc/webhooks/internal/metrics"
	"github.com/docproc/webhooks/internal/redact"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// Handler serves the API. It is safe for concurrent use.
type Handler struct {
	auth     Authenticator
	webhooks Webhooks
	// deliveries serves the delivery routes.
	deliveries Deliveries
	log        *slog.Logger
	metrics    *metrics.Emitter
	// dest are the egress rules a webhook's url is registered under.
	dest   egress.Rules
	routes []route
}

// handlerFunc serves one method of one route.
type handlerFunc func(context.Context, *call) (events.APIGatewayV2HTTPResponse, error)

// operation is one method of one route: its name (the operationId in
// api/openapi.yaml, used in logs and metrics) and its handler.
type operation struct {
	name string
	fn   handlerFunc
}

// route is one path pattern with the operations of its methods. A pattern
// segment "{id}" matches any one non-empty segment.
type route struct {
	pattern string
	methods map[string]operation
}

// call carries one request through its handler.
type call struct {
	req       events.APIGatewayV2HTTPRequest
	requestID string
	owner     tenant.Tenant
	// operation names what the request asked for.
	operation string
	// route is the matched method and path pattern, "GET /v1/webhooks/{id}".
	route string
	// id is the path's {id} segment, if the route has one.
	id string
	// deliveryID is the path's {delivery_id} segment, if the route has one.
	deliveryID string
	// allow is the Allow header of a 405 answer.
	allow string
}

// Operation names of requests that match no operation.
const (
	opRouteNotFound    = "routeNotFound"
	opMethodNotAllowed = "methodNotAllowed"
)

// New returns a Handler. auth tells whose each request's key is, webhooks
// serves the webhook routes and deliveries the routes under a webhook's
// deliveries. log receives one line per request and m the request's
// metrics. dest are the egress rules under which a webhook url may be
// registered (created or updated): egress.Rules{} for the default, or
// rules whose Allow holds the deployment's ALLOWED_DESTINATION_CIDRS.
func New(auth Authenticator, webhooks Webhooks, deliveries Deliveries, log *slog.Logger, m *metrics.Emitter, dest egress.Rules) *Handler {
	h := &Handler{auth: auth, webhooks: webhooks, deliveries: deliveries, log: log, metrics: m, dest: dest}
	h.routes = []route{
		{pattern: "/v1/webhooks", methods: map[string]operation{
			http.MethodGet:  {"listWebhooks", h.listWebhooks},
			http.MethodPost: {"createWebhook", h.createWebhook},
		}},
		{pattern: "/v1/webhooks/{id}", methods: map[string]operation{
			http.MethodGet:    {"getWebhook", h.getWebhook},
			http.MethodPatch:  {"updateWebhook", h.updateWebhook},
			http.MethodDelete: {"deleteWebhook", h.deleteWebhook},
		}},
		{pattern: "/v1/webhooks/{id}/rotate-secret", methods: map[string]operation{
			http.MethodPost: {"rotateWebhookSecret", h.rotateSecret},
		}},
		{pattern: "/v1/webhooks/{id}/deliveries", methods: map[string]operation{
			http.MethodGet: {"listDeliveries", h.listDeliveries},
		}},
		{pattern: "/v1/webhooks/{id}/deliveries/{delivery_id}", methods: map[string]operation{
			http.MethodGet: {"getDelivery", h.getDelivery},
		}},
		{pattern: "/v1/webhooks/{id}/deliveries/{delivery_id}/retry", methods: map[string]operation{
			http.MethodPost: {"retryDelivery", h.retryDelivery},
		}},
		{pattern: "/v1/webhooks/{id}/recover", methods: map[string]operation{
			http.MethodPost: {"recoverWebhook", h.recoverWebhook},
		}},
		{pattern: "/v1/webhooks/{id}/test", methods: map[string]operation{
			http.MethodPost: {"testWebhook", h.testWebhook},
		}},
	}
	return h
}

// match reports whether path, as sent, fits pattern, and returns its
// parameter segments ("{id}", "{delivery_id}") in order. The path is split
// on "/" before each segment is percent-decoded, so an encoded slash
// ("%2F") stays inside its segment instead of making a new one:
// "/v1/webhooks%2Fwh_1" is one segment "webhooks/wh_1", which no route
// has.
func match(pattern, path string) (params []string, ok bool) {
	want, got := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(want) != len(got) {
		return nil, false
	}
	for i, w := range want {
		seg, err := url.PathUnescape(got[i])
		switch {
		case err != nil:
			return nil, false
		case strings.HasPrefix(w, "{") && seg != "":
			params = append(params, seg)
		case w != seg:
			return nil, false
		}
	}
	return params, true
}

// Handle serves one request. It always returns a response and a nil error:
// failures are answered as JSON errors, never as Lambda invocation errors.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse, _ error) {
	start := time.Now()
	c := &call{req: req, requestID: requestID(ctx, req), operation: opRouteNotFound}
	ctx, cancel := withDeadlineMargin(ctx)
	defer cancel()
	ctx, m := h.metrics.Start(ctx)
	method, path := req.RequestContext.HTTP.Method, requestPath(req)
	var err error
	defer func() {
		// A panic is a bug: answer with the usual JSON 500, not a failed
		// invocation (which API Gateway would turn into a bare 500).
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
			resp = errorResponse(err, c.requestID)
		}
		latency := time.Since(start)
		h.logRequest(ctx, c, method, path, resp.StatusCode, latency, err)
		o := metrics.Outcome{Operation: c.operation, Status: resp.StatusCode, Latency: latency}
		if e, ok := shownError(err); ok {
			o.ErrorKind, o.ErrorCode = e.Kind, e.Code
		}
		m.Finish(o)
	}()
	resp, err = h.dispatch(ctx, c, method, path)
	if err != nil {
		resp = errorResponse(err, c.requestID)
		if c.allow != "" {
			resp.Headers["Allow"] = c.allow
		}
	}
	return resp, nil
}

// DeadlineMargin is kept free before the invocation's deadline: AWS calls
// must finish by then, so that a failed create still has time to clean up
// (webhook.CompensationTimeout) and to answer.
const DeadlineMargin = webhook.CompensationTimeout + 500*time.Millisecond

// withDeadlineMargin returns ctx with its deadline brought forward by
// DeadlineMargin. Without a deadline (a test, a tool) ctx is unchanged.
func withDeadlineMargin(ctx context.Context) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, d.Add(-DeadlineMargin))
}

// dispatch finds the route and method, authenticates, and runs the handler.
// Its errors repeat the method and path only as apperr.Echo allows: a
// segment that is not a route's may be anything the caller sent, an API
// key included.
func (h *Handler) dispatch(ctx context.Context, c *call, method, path string) (events.APIGatewayV2HTTPResponse, error) {
	for _, r := range h.routes {
		params, ok := match(r.pattern, path)
		if !ok {
			continue
		}
		c.route = method + " " + r.pattern
		if len(params) > 0 {
			c.id = params[0]
		}
		if len(params) > 1 {
			c.deliveryID = params[1]
		}
		op, ok := r.methods[method]
		if !ok {
			c.operation, c.allow = opMethodNotAllowed, allow(r)
			return events.APIGatewayV2HTTPResponse{}, apperr.New(apperr.MethodNotAllowed, apperr.CodeMethodNotAllowed,
				apperr.Echo(method)+" is not allowed on "+r.pattern)
		}
		c.operation = op.name
		key, err := apiKey(c.req)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if c.owner, err = h.auth.Authenticate(ctx, key); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return op.fn(ctx, c)
	}
	return events.APIGatewayV2HTTPResponse{}, apperr.New(apperr.NotFound, apperr.CodeRouteNotFound,
		"no route matches "+apperr.Echo(method+" "+path))
}

// allow lists a route's methods for the Allow header.
func allow(r route) string {
	var ms []string
	for m := range r.methods {
		ms = append(ms, m)
	}
	slices.Sort(ms)
	return strings.Join(ms, ", ")
}

// requestPath returns the path without a non-default stage prefix.
func requestPath(req events.APIGatewayV2HTTPRequest) string {
	p := req.RawPath
	if p == "" {
		p = req.RequestContext.HTTP.Path
	}
	if st := req.RequestContext.Stage; st != "" && st != "$default" {
		p = strings.TrimPrefix(p, "/"+st)
	}
	if p == "" {
		p = "/"
	}
	return p
}

// requestID returns API Gateway's request id, else Lambda's, else a new one.
func requestID(ctx context.Context, req events.APIGatewayV2HTTPRequest) string {
	if id := req.RequestContext.RequestID; id != "" {
		return id
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		return lc.AwsRequestID
	}
	return "req_" + rand.Text()
}

// shownError returns the error the caller was shown for err, if it was
// one the service means to show (an *apperr.Error, or a dependency that is
// unavailable); an unexpected internal error has no code of its own.
func shownError(err error) (*apperr.Error, bool) {
	if err == nil {
		return nil, false
	}
	e := apperr.Public(err)
	return e, e.Kind != apperr.Internal || apperr.As(err) != nil
}

// logRequest writes the one access line of a request. 5xx answers carry the
// underlying error, which never holds a key or a secret.
func (h *Handler) logRequest(ctx context.Context, c *call, method, path string, status int, d time.Duration, err error) {
	attrs := []slog.Attr{
		slog.String("request_id", c.requestID),
		slog.String("operation", c.operation),
		slog.String("route", c.route),
		slog.String("method", method),
		slog.String("path", redact.Escaped(path)),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(d.Microseconds())/1000),
	}
	if c.owner.Account != "" {
		attrs = append(attrs, slog.String("account", c.owner.Account), slog.String("mode", string(c.owner.Mode)))
	}
	level := slog.LevelInfo
	if err != nil {
		if e, ok := shownError(err); ok {
			attrs = append(attrs, slog.String("error_code", e.Code))
		}
		if status >= 500 {
			level = slog.LevelError
			attrs = append(attrs, slog.String("error", err.Error()))
		}
	}
	h.log.LogAttrs(ctx, level, "request", attrs...)
}
