// Package apperr defines the one error type the service returns to callers.
//
// Domain code and adapters return *Error for anything a caller should see
// (bad input, a missing resource, a throttled dependency). Any other error is
// internal: the api package logs it and answers with a generic message, so no
// internal detail ever reaches a response body.
package apperr

import (
	"errors"
	"fmt"
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
	default:
		return "internal"
	}
}

// FieldError is one problem with one request field.
type FieldError struct {
	// Param names the field, as the caller wrote it (for example "url").
	Param string `json:"param"`
	// Code is a stable, machine-readable reason (for example "url_invalid").
	Code string `json:"code"`
	// Message is a human-readable sentence.
	Message string `json:"message"`
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

// Validation returns an Invalid error that reports every field problem. The
// first problem gives the top-level code, message and param.
func Validation(problems []FieldError) *Error {
	if len(problems) == 0 {
		return nil
	}
	first := problems[0]
	return &Error{
		Kind:    Invalid,
		Code:    first.Code,
		Message: first.Message,
		Param:   first.Param,
		Details: problems,
	}
}

// Dependency returns an Unavailable error for a dependency that is
// throttled or timed out; the cause is kept for logs.
func Dependency(service string, cause error) *Error {
	return &Error{
		Kind:    Unavailable,
		Code:    "service_unavailable",
		Message: "a dependency is temporarily unavailable; retry later",
		Cause:   fmt.Errorf("%s: %w", service, cause),
	}
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// KindOf returns the kind of err: Internal unless an *Error is in its chain.
func KindOf(err error) Kind {
	if e := As(err); e != nil {
		return e.Kind
	}
	return Internal
}
