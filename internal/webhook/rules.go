package webhook

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
)

// The rules of a webhook's settings and of the operations' parameters. The
// api package decodes requests into Go values; what those values must be
// is said here, once, and every message is built from these constants.

// Default values of the settings a create request leaves out.
const (
	DefaultIsActive     = true
	DefaultRetryEnabled = true
	DefaultMaxRetries   = 5
)

// DefaultEvents are subscribed when a create request leaves events out.
var DefaultEvents = []EventType{DocumentProcessingCompleted, DocumentProcessingFailed}

// List paging.
const (
	// DefaultPageSize is the page size when a list request gives no limit.
	DefaultPageSize = 10
)

// Range is the rule of a whole-number parameter: it must be from Min to
// Max, or null where the rule allows it (Null). Its problems carry Code
// and name Param.
type Range struct {
	// Param is the parameter's name, as the caller writes it.
	Param string
	// Code is the error code of a value that breaks the rule.
	Code string
	// Min and Max are the smallest and largest values accepted.
	Min, Max int
	// Null is what null means, for a parameter that may be null ("no
	// limit"); empty for one that may not. Null reads as 0, so a range
	// that allows it starts above 0.
	Null string
}

// The whole-number parameters.
var (
	// MaxRetriesRange is the rule of max_retries: 0 to 10.
	MaxRetriesRange = Range{Param: "max_retries", Code: apperr.CodeMaxRetriesInvalid, Min: 0, Max: 10}
	// GracePeriodRange is the rule of a rotation's grace_period_seconds:
	// no grace at all up to 7 days.
	GracePeriodRange = Range{Param: "grace_period_seconds", Code: apperr.CodeGracePeriodInvalid,
		Min: 0, Max: int(7 * 24 * time.Hour / time.Second)}
	// PageSizeRange is the rule of a list's limit: 1 to 100.
	PageSizeRange = Range{Param: "limit", Code: apperr.CodeLimitInvalid, Min: 1, Max: 100}
	// RateLimitRange is the rule of rate_limit: 1 to 1,000 deliveries a
	// second, or null for none. 0 would stop deliveries, which is what
	// is_active false says. Above 1,000 a limit would never bind: an
	// account's events enter the events-by-time index at about 1,000 a
	// second at most, and a counter item in DynamoDB, as the manual sends'
	// limit keeps one, takes at most 1,000 writes a second.
	RateLimitRange = Range{Param: "rate_limit", Code: apperr.CodeRateLimitInvalid, Min: 1, Max: 1000, Null: "no limit"}
)

// Parse reads lit, a decimal integer as JSON writes one (an optional
// minus, no leading zero, no fraction, no exponent), and checks it against
// the range. Where the range allows null, the literal null reads as 0.
func (r Range) Parse(lit string) (int, *apperr.FieldProblem) {
	if lit == "null" && r.Null != "" {
		return 0, nil
	}
	digits := strings.TrimPrefix(lit, "-")
	if digits == "" || (len(digits) > 1 && digits[0] == '0') || strings.Trim(digits, "0123456789") != "" {
		return 0, r.problem()
	}
	n, err := strconv.Atoi(lit)
	if err != nil || n < r.Min || n > r.Max {
		return 0, r.problem()
	}
	return n, nil
}

// problem is the problem of a value that breaks the range.
func (r Range) problem() *apperr.FieldProblem {
	msg := fmt.Sprintf("%s must be a whole number from %d to %d", r.Param, r.Min, r.Max)
	if r.Null != "" {
		msg += ", or null for " + r.Null
	}
	return &apperr.FieldProblem{Code: r.Code, Message: msg}
}

// URLRequired is the problem of a create request without a url.
func URLRequired() *apperr.FieldProblem {
	return &apperr.FieldProblem{Code: apperr.CodeParameterMissing, Message: "url is required"}
}

// ParseEventType checks the name of one event type. Its problem repeats the
// name only as apperr.Quote allows.
func ParseEventType(name string) (EventType, *apperr.FieldProblem) {
	if !slices.Contains(EventTypes, EventType(name)) {
		names := make([]string, len(EventTypes))
		for i, e := range EventTypes {
			names[i] = string(e)
		}
		return "", &apperr.FieldProblem{Code: apperr.CodeEventUnknown,
			Message: fmt.Sprintf("unknown event %s; known events: %s", apperr.Quote(name), strings.Join(names, ", "))}
	}
	return EventType(name), nil
}

// Subscribe returns the subscription to events: in canonical order
// (EventTypes), without duplicates, and never empty.
func Subscribe(events []EventType) ([]EventType, *apperr.FieldProblem) {
	if len(events) == 0 {
		return nil, &apperr.FieldProblem{Code: apperr.CodeEventsEmpty, Message: "events must list at least one event"}
	}
	var out []EventType
	for _, e := range EventTypes {
		if slices.Contains(events, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// UpdateParams are the settings an update changes: nil fields stay as
// they are. Each set field has passed its rule.
type UpdateParams struct {
	// URL replaces the endpoint when not nil.
	URL *string
	// Events replaces the subscriptions when not nil.
	Events []EventType
	// IsActive replaces is_active when not nil.
	IsActive *bool
	// RetryEnabled replaces retry_enabled when not nil.
	RetryEnabled *bool
	// MaxRetries replaces max_retries when not nil.
	MaxRetries *int
	// RateLimit replaces rate_limit when not nil; a pointer to 0 (null)
	// removes the limit.
	RateLimit *int
}

// Apply returns s with the update's fields replaced.
func (u UpdateParams) Apply(s Settings) Settings {
	if u.URL != nil {
		s.URL = *u.URL
	}
	if u.Events != nil {
		s.Events = u.Events
	}
	if u.IsActive != nil {
		s.IsActive = *u.IsActive
	}
	if u.RetryEnabled != nil {
		s.RetryEnabled = *u.RetryEnabled
	}
	if u.MaxRetries != nil {
		s.MaxRetries = *u.MaxRetries
	}
	if u.RateLimit != nil {
		s.RateLimit = *u.RateLimit
	}
	return s
}

// NewSettings returns the settings of a new webhook: u's fields over the
// defaults. u must set URL.
func NewSettings(u UpdateParams) Settings {
	return u.Apply(Settings{
		Events:       slices.Clone(DefaultEvents),
		IsActive:     DefaultIsActive,
		RetryEnabled: DefaultRetryEnabled,
		MaxRetries:   DefaultMaxRetries,
	})
}
