package delivery

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// ErrorClass names why an attempt got no HTTP status, or got one that
// does not count as an answer. Records and the API show it.
type ErrorClass string

// The error classes.
const (
	// ErrTimeout: the attempt ran out of time (DELIVERY_TIMEOUT).
	ErrTimeout ErrorClass = "timeout"
	// ErrTLS: the TLS handshake failed (certificate, protocol).
	ErrTLS ErrorClass = "tls"
	// ErrDNS: the endpoint's name did not resolve.
	ErrDNS ErrorClass = "dns"
	// ErrConnection: the connection was refused, reset or closed.
	ErrConnection ErrorClass = "connection"
	// ErrAddressRefused: the endpoint's address is not one the service
	// may call (checked when dialling), or its URL is no longer allowed.
	ErrAddressRefused ErrorClass = "address_refused"
	// ErrRedirect: the endpoint answered 3xx; redirects are not followed.
	ErrRedirect ErrorClass = "redirect"
	// ErrInterrupted: the attempt began but its outcome was never
	// recorded (the handler stopped, or its record failed); it may or may
	// not have reached the endpoint, and it is not made again.
	ErrInterrupted ErrorClass = "interrupted"
)

// Request is one POST to an endpoint.
type Request struct {
	// URL is the endpoint.
	URL string
	// MessageID, Timestamp and Signature are the webhook-id,
	// webhook-timestamp and webhook-signature headers.
	MessageID string
	// Timestamp is the attempt's time, sent in Unix seconds.
	Timestamp time.Time
	// Signature is the webhook-signature header.
	Signature string
	// Body is the payload.
	Body []byte
}

// Response is what an attempt got.
type Response struct {
	// Status is the HTTP status, 0 when there was none.
	Status int
	// Error is why the attempt failed without a usable status; empty
	// otherwise. A 3xx has both a Status and ErrRedirect.
	Error ErrorClass
	// Body is the start of the response body, at most MaxResponsePrefix
	// bytes.
	Body []byte
	// RetryAfter is the endpoint's Retry-After, 0 when absent.
	RetryAfter time.Duration
	// Duration is how long the attempt took.
	Duration time.Duration
}

// MaxResponsePrefix bounds the response body kept in an attempt record.
const MaxResponsePrefix = 1024

// Verdict is what an attempt's response means.
type Verdict int

// The verdicts.
const (
	// Failed: the attempt failed and may be retried.
	Failed Verdict = iota
	// Delivered: the endpoint answered 2xx.
	Delivered
	// Gone: the endpoint answered 410; it is disabled.
	Gone
)

// Judge reads a response: 2xx is delivered, 410 disables the endpoint, and
// anything else, including 3xx and every error, fails the attempt.
func Judge(r Response) Verdict {
	switch {
	case r.Error != "":
		return Failed
	case r.Status >= 200 && r.Status < 300:
		return Delivered
	case r.Status == 410:
		return Gone
	default:
		return Failed
	}
}

// State is where a delivery stands.
type State string

// The states of a delivery.
const (
	// Pending: attempts failed and a retry is due.
	Pending State = "pending"
	// StateDelivered: an attempt got 2xx.
	StateDelivered State = "delivered"
	// StateFailed: the last attempt allowed failed, or the endpoint
	// answered 410.
	StateFailed State = "failed"
	// Skipped: the endpoint was deleted, deactivated or unsubscribed
	// before an attempt could be made.
	Skipped State = "skipped"
)

// Attempt is the record of one attempt. It holds no secret and no
// signature.
type Attempt struct {
	// DeliveryID is the delivery (the webhook-id header).
	DeliveryID string
	// EventID and EventType are the event delivered.
	EventID string
	// EventType is the event's type.
	EventType string
	// Owner and WebhookID are the endpoint.
	Owner tenant.Tenant
	// WebhookID is the endpoint's webhook.
	WebhookID string
	// URL is where the attempt went.
	URL string
	// Number is 1 for the first attempt.
	Number int
	// At is when the attempt started.
	At time.Time
	// Response is what it got.
	Response Response
}

// States lists the delivery states, as the API names them.
var States = []State{Pending, StateDelivered, StateFailed, Skipped}

// ParseState reads a delivery state by name.
func ParseState(name string) (State, *webhook.FieldProblem) {
	if !slices.Contains(States, State(name)) {
		return "", &webhook.FieldProblem{Code: apperr.CodeStateInvalid,
			Message: fmt.Sprintf("unknown state %s; states: pending, delivered, failed, skipped", strconv.Quote(name))}
	}
	return State(name), nil
}
