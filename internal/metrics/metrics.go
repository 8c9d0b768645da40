// Package metrics writes CloudWatch metrics in the Embedded Metric Format
// (EMF): JSON log lines that CloudWatch Logs turns into metrics, with no
// CloudWatch API call, client or credentials in the function.
//
// One API request writes one line for itself (by Operation; and by
// ErrorCode for validation and authentication failures) and one line per
// AWS service it called (by Service). The pipeline's handlers write counts
// without dimensions (Counts), such as the attempts of one batch.
//
// AWS publishes no EMF library for Go; the community ones were either
// unmaintained or not available from the module proxy, and the format is
// small, so it is written here to the specification: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/awserr"
)

// DefaultNamespace is the CloudWatch namespace when none is configured.
const DefaultNamespace = "Webhooks"

// Units used by the metrics.
const (
	unitCount        = "Count"
	unitMilliseconds = "Milliseconds"
)

// Emitter writes EMF lines. It is safe for concurrent use.
type Emitter struct {
	mu        sync.Mutex
	w         io.Writer
	namespace string
	now       func() time.Time
}

// New returns an Emitter that writes to w (Lambda's stdout) under namespace.
func New(w io.Writer, namespace string) *Emitter {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	return &Emitter{w: w, namespace: namespace, now: time.Now}
}

// Request collects the metrics of one request.
type Request struct {
	e    *Emitter
	mu   sync.Mutex
	deps map[string]*dependency
}

// dependency is what one request saw of one AWS service.
type dependency struct {
	latencies []float64
	errors    int
}

// requestKey finds the Request in a context.
type requestKey struct{}

// Start begins a request's metrics and returns a context that carries
// them, so that SDK calls made with it are counted.
func (e *Emitter) Start(ctx context.Context) (context.Context, *Request) {
	r := &Request{e: e, deps: map[string]*dependency{}}
	return context.WithValue(ctx, requestKey{}, r), r
}

// Dependency records one call to an AWS service.
func (r *Request) Dependency(service string, d time.Duration, failed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	dep := r.deps[service]
	if dep == nil {
		dep = &dependency{}
		r.deps[service] = dep
	}
	dep.latencies = append(dep.latencies, ms(d))
	if failed {
		dep.errors++
	}
}

// Outcome is how a request ended.
type Outcome struct {
	// Operation names what was asked, such as createWebhook.
	Operation string
	// Status is the HTTP status answered.
	Status int
	// Latency is the time the request took.
	Latency time.Duration
	// ErrorKind and ErrorCode describe an error answer.
	ErrorKind apperr.Kind
	// ErrorCode is the error's code; empty for a success.
	ErrorCode string
}

// Finish writes the request's lines.
func (r *Request) Finish(o Outcome) {
	line := map[string]any{
		"Operation": o.Operation,
		"Requests":  1,
		"Latency":   ms(o.Latency),
		"Errors4xx": b2i(o.Status >= 400 && o.Status < 500),
		"Errors5xx": b2i(o.Status >= 500),
	}
	names := []string{"Requests", "Latency", "Errors4xx", "Errors5xx"}
	units := []string{unitCount, unitMilliseconds, unitCount, unitCount}
	if o.Operation == "createWebhook" {
		line["WebhooksCreated"] = b2i(o.Status == 201)
		names, units = append(names, "WebhooksCreated"), append(units, unitCount)
	}
	directives := []directive{r.e.directive([]string{"Operation"}, names, units)}
	failure := ""
	switch {
	case o.ErrorCode == "":
	case o.ErrorKind == apperr.Unauthenticated:
		failure = "AuthFailures"
	case validation[o.ErrorKind]:
		failure = "ValidationErrors"
	}
	if failure != "" {
		line["ErrorCode"], line[failure] = o.ErrorCode, 1
		directives = append(directives, r.e.directive([]string{"ErrorCode"}, []string{failure}, []string{unitCount}))
	}
	r.e.write(line, directives)

	r.mu.Lock()
	defer r.mu.Unlock()
	services := make([]string, 0, len(r.deps))
	for s := range r.deps {
		services = append(services, s)
	}
	sort.Strings(services)
	for _, s := range services {
		d := r.deps[s]
		r.e.write(map[string]any{
			"Service":           s,
			"DependencyCalls":   len(d.latencies),
			"DependencyErrors":  d.errors,
			"DependencyLatency": d.latencies,
		}, []directive{r.e.directive([]string{"Service"},
			[]string{"DependencyCalls", "DependencyErrors", "DependencyLatency"},
			[]string{unitCount, unitCount, unitMilliseconds})})
	}
}

// validation are the error kinds counted as ValidationErrors: the request
// itself was malformed or broke a rule.
var validation = map[apperr.Kind]bool{
	apperr.Invalid:              true,
	apperr.IdempotencyMismatch:  true,
	apperr.TooLarge:             true,
	apperr.UnsupportedMediaType: true,
}

// directive is one CloudWatchMetrics entry of an EMF line.
type directive struct {
	Namespace  string       `json:"Namespace"`
	Dimensions [][]string   `json:"Dimensions"`
	Metrics    []metricSpec `json:"Metrics"`
}

// metricSpec names one metric of a directive.
type metricSpec struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// directive builds a directive of the emitter's namespace.
func (e *Emitter) directive(dims, names, units []string) directive {
	d := directive{Namespace: e.namespace, Dimensions: [][]string{dims}}
	for i, n := range names {
		d.Metrics = append(d.Metrics, metricSpec{Name: n, Unit: units[i]})
	}
	return d
}

// write writes one EMF line: the members of line plus the _aws metadata.
func (e *Emitter) write(line map[string]any, directives []directive) {
	line["_aws"] = map[string]any{
		"Timestamp":         e.now().UnixMilli(),
		"CloudWatchMetrics": directives,
	}
	b, err := json.Marshal(line)
	if err != nil {
		return // only numbers and strings: cannot happen
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	fmt.Fprintf(e.w, "%s\n", b)
}

// SDKMiddleware times every AWS call made with a context from Start and
// records it as a dependency of the request, under the service's id
// ("DynamoDB", "Secrets Manager"). Conditional-check failures and other
// answers to the caller's own request are not dependency errors;
// throttling, timeouts, network and server errors are.
func SDKMiddleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("metrics.Dependency",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
			middleware.InitializeOutput, middleware.Metadata, error) {
			r, _ := ctx.Value(requestKey{}).(*Request)
			if r == nil {
				return next.HandleInitialize(ctx, in)
			}
			start := time.Now()
			out, md, err := next.HandleInitialize(ctx, in)
			r.Dependency(awsmiddleware.GetServiceID(ctx), time.Since(start), dependencyFailed(err))
			return out, md, err
		}), middleware.Before)
}

// dependencyFailed reports whether err means the service failed, rather
// than answering the request (a failed condition, a missing secret).
func dependencyFailed(err error) bool {
	if err == nil {
		return false
	}
	if awserr.Transient(err) {
		return true
	}
	var ae smithy.APIError
	return !errors.As(err, &ae) || ae.ErrorFault() != smithy.FaultClient
}

// ms converts d to milliseconds with microsecond precision.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// b2i is 1 for true.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Counts writes one line of counts without dimensions, such as the
// attempts and failures of one batch of deliveries. Names are written in
// order; a count of zero is written too, so that a rate over them is
// defined.
func (e *Emitter) Counts(counts map[string]int) {
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	line := map[string]any{}
	d := directive{Namespace: e.namespace, Dimensions: [][]string{{}}}
	for _, n := range names {
		line[n] = counts[n]
		d.Metrics = append(d.Metrics, metricSpec{Name: n, Unit: unitCount})
	}
	e.write(line, []directive{d})
}
