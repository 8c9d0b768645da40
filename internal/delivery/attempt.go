package delivery

import (
	"fmt"
	"slices"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/tenant"
)

// ErrorClass names why an attempt got no HTTP status, or got one that
// does not count as an answer. Records and the API show it.
type ErrorClass string

// The error classes.
const (
	// ClassTimeout: the attempt ran out of time (DELIVERY_TIMEOUT).
	ClassTimeout ErrorClass = "timeout"
	// ClassTLS: the TLS handshake failed (certificate, protocol).
	ClassTLS ErrorClass = "tls"
	// ClassDNS: the endpoint's name did not resolve.
	ClassDNS ErrorClass = "dns"
	// ClassConnection: the connection was refused, reset or closed.
	ClassConnection ErrorClass = "connection"
	// ClassAddressRefused: the endpoint's address is not one the service
	// may call (checked when dialling), or its URL is no longer allowed.
	ClassAddressRefused ErrorClass = "address_refused"
	// ClassRedirect: the endpoint answered 3xx; redirects are not followed.
	ClassRedirect ErrorClass = "redirect"
	// ClassInterrupted: the attempt began but its outcome was never
	// recorded (the handler stopped, or its record failed); it may or may
	// not have reached the endpoint, and it is not made again.
	ClassInterrupted ErrorClass = "interrupted"
)

// Request is one POST to an endpoint.
type Request struct {
	// URL is the endpoint.
	URL string
	// DeliveryID, Timestamp and Signature are the webhook-id,
	// webhook-timestamp and webhook-signature headers.
	DeliveryID string
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
	// otherwise. A 3xx has both a Status and ClassRedirect.
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
	// VerdictFailed: the attempt failed and may be retried.
	VerdictFailed Verdict = iota
	// VerdictDelivered: the endpoint answered 2xx.
	VerdictDelivered
	// VerdictGone: the endpoint answered 410; it is disabled.
	VerdictGone
)

// Judge reads a response: 2xx is delivered, 410 disables the endpoint, and
// anything else, including 3xx and every error, fails the attempt.
func Judge(r Response) Verdict {
	switch {
	case r.Error != "":
		return VerdictFailed
	case r.Status >= 200 && r.Status < 300:
		return VerdictDelivered
	case r.Status == 410:
		return VerdictGone
	default:
		return VerdictFailed
	}
}

// State is where a delivery stands.
type State string

// The states of a delivery.
const (
	// StatePending: an attempt is due, now or later: none has been made
	// yet (the fan-out or a manual send opened it), or attempts failed
	// and a retry is scheduled.
	StatePending State = "pending"
	// StateDelivered: an attempt got 2xx.
	StateDelivered State = "delivered"
	// StateFailed: no attempt will be made again: the last attempt
	// allowed failed (ReasonExhausted), the endpoint answered 410
	// (ReasonGone), or the endpoint was disabled for failing
	// (ReasonFailing).
	StateFailed State = "failed"
	// StateSkipped: the endpoint was deleted, deactivated or unsubscribed
	// before an attempt could be made.
	StateSkipped State = "skipped"
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
var States = []State{StatePending, StateDelivered, StateFailed, StateSkipped}

// ParseState reads a delivery state by name.
func ParseState(name string) (State, *apperr.FieldProblem) {
	if !slices.Contains(States, State(name)) {
		return "", &apperr.FieldProblem{Code: apperr.CodeStateInvalid,
			Message: fmt.Sprintf("unknown state %s; states: pending, delivered, failed, skipped", apperr.Quote(name))}
	}
	return State(name), nil
}
