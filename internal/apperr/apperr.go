// Package apperr defines the one error type the service returns to callers,
// the one list of their codes (codes.go), the field problems of a request
// that fails validation (fields.go), the 404 of a missing resource
// (notfound.go), and how an error repeats what the caller sent without a
// credential (echo.go).
//
// Adapters return sentinel errors (such as webhook.ErrNotFound, or
// ErrUnavailable for a dependency that failed in a way a retry may cure);
// domain code decides what each means and returns an *Error for anything a
// caller should see; the api package maps each Kind to an HTTP status in
// one place. Any other error is internal: the api package logs it and
// answers with a generic message, so no internal detail ever reaches a
// response body.
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error; the api package maps each kind to one HTTP status.
type Kind int

// The kinds of error a caller can see.
const (
	// Internal is an unexpected failure. Its message is never shown.
	Internal Kind = iota
	// Invalid is a request that fails validation (400).
	Invalid
	// Unauthenticated is a missing, malformed, unknown or revoked API key (401).
	Unauthenticated
	// NotFound is an unknown route or resource (404).
	NotFound
	// MethodNotAllowed is a known route called with the wrong method (405).
	MethodNotAllowed
	// Conflict is a write that clashes with existing state (409).
	Conflict
	// TooLarge is a request body over the size limit (413).
	TooLarge
	// UnsupportedMediaType is a body that is not JSON (415).
	UnsupportedMediaType
	// Unavailable is a dependency that is throttled, timed out or down (503).
	Unavailable
	// IdempotencyMismatch is an Idempotency-Key reused with other parameters (400).
	IdempotencyMismatch
	// IdempotencyInProgress is an Idempotency-Key whose first request is still running (409).
	IdempotencyInProgress
	// IdempotencyGone is an Idempotency-Key whose first response can no
	// longer be given, because the secret it carried is no longer held (410).
	IdempotencyGone
	// RateLimited is a request over a rate limit; Error.RetryAfter says
	// when to try again (429).
	RateLimited
)

// String returns the kind's name, for logs.
func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case Unauthenticated:
		return "unauthenticated"
	case NotFound:
		return "not_found"
	case MethodNotAllowed:
		return "method_not_allowed"
	case Conflict:
		return "conflict"
	case TooLarge:
		return "too_large"
	case UnsupportedMediaType:
		return "unsupported_media_type"
	case Unavailable:
		return "unavailable"
	case IdempotencyMismatch:
		return "idempotency_mismatch"
	case IdempotencyInProgress:
		return "idempotency_in_progress"
	case IdempotencyGone:
		return "idempotency_gone"
	case RateLimited:
		return "rate_limited"
	default:
		return "internal"
	}
}

// Error is an error a caller may see. Message must never hold secrets,
// API keys or internal details.
type Error struct {
	// Kind decides the HTTP status.
	Kind Kind
	// Code is a stable, machine-readable reason.
	Code string
	// Message is a human-readable sentence safe to show to the caller.
	Message string
	// Param names the offending field, when there is one.
	Param string
	// Details lists every field problem when validation fails.
	Details []FieldError
	// Cause is the underlying error, for logs only.
	Cause error
	// RetryAfter, when not 0, is how long the caller should wait before
	// trying again (the Retry-After header).
	RetryAfter time.Duration
}

// Error implements error. It includes the cause, so it is for logs.
func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// New returns an error of the given kind with a code and message.
func New(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// ErrUnavailable is the sentinel adapters wrap around a dependency's
// failure that a retry may cure: throttling, a timeout, a connection that
// could not be made or was cut. Such an error may also hide a write that
// committed.
var ErrUnavailable = errors.New("dependency unavailable")

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Public returns what the caller may see of err: the *Error in its chain;
// else, for a chain holding ErrUnavailable, a service_unavailable error;
// else an internal_error whose message says nothing of err. The Cause of
// the last two is err, for logs.
func Public(err error) *Error {
	if e := As(err); e != nil {
		return e
	}
	if errors.Is(err, ErrUnavailable) {
		return &Error{Kind: Unavailable, Code: CodeServiceUnavailable,
			Message: "a dependency is temporarily unavailable; retry later", Cause: err}
	}
	return &Error{Kind: Internal, Code: CodeInternalError,
		Message: "an internal error occurred; contact support with the request id", Cause: err}
}

// KindOf returns the kind of err as Public sees it.
func KindOf(err error) Kind {
	return Public(err).Kind
}
