package delivery

import (
	"time"

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
