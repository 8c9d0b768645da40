package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/docproc/webhooks/internal/apperr"
)

// Field-level error codes, stable for callers to match on.
const (
	CodeParameterMissing     = "parameter_missing"
	CodeParameterUnknown     = "parameter_unknown"
	CodeParameterInvalidType = "parameter_invalid_type"
	CodeURLInvalid           = "url_invalid"
	CodeURLForbiddenHost     = "url_forbidden_host"
	CodeEventsEmpty          = "events_empty"
	CodeEventUnknown         = "event_unknown"
	CodeMaxRetriesInvalid    = "max_retries_invalid"
)

// FieldProblem is a validation problem before it is tied to a field name.
type FieldProblem struct {
	// Code is the stable reason, one of the Code* constants.
	Code string
	// Message is a sentence for the caller.
	Message string
}

// integerLiteral reports whether lit is a JSON number with no fraction and
// no exponent: an optional minus, then 0 or digits without a leading zero.
func integerLiteral(lit string) bool {
	digits := strings.TrimPrefix(lit, "-")
	if digits == "" || (len(digits) > 1 && digits[0] == '0') {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

// fields lists the create request's fields in the order problems are reported.
var fields = []string{"url", "events", "is_active", "retry_enabled", "max_retries"}

// UpdateParams is a validated update request: nil fields are left as
// they are.
type UpdateParams struct {
	// URL replaces the endpoint when not nil.
	URL *string
	// Events replaces the subscriptions when not nil.
	Events []Event
	// IsActive replaces is_active when not nil.
	IsActive *bool
	// RetryEnabled replaces retry_enabled when not nil.
	RetryEnabled *bool
	// MaxRetries replaces max_retries when not nil.
	MaxRetries *int
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
	return s
}

// ParseCreateParams validates the fields of a create request body (a JSON
// object already split into raw members), applies defaults and returns the
// normalized params. It reports every problem at once as an apperr Invalid
// error whose Details name each field.
func ParseCreateParams(body map[string]json.RawMessage) (CreateParams, error) {
	u, problems := parseFields(body)
	if _, ok := body["url"]; !ok {
		problems = append([]apperr.FieldError{{Param: "url", Code: CodeParameterMissing, Message: "url is required"}}, problems...)
	}
	if len(problems) > 0 {
		return CreateParams{}, apperr.Validation(problems)
	}
	return u.Apply(Settings{
		Events:       slices.Clone(DefaultEvents),
		IsActive:     DefaultIsActive,
		RetryEnabled: DefaultRetryEnabled,
		MaxRetries:   DefaultMaxRetries,
	}), nil
}

// ParseUpdateParams validates the fields of an update request body by the
// same rules as create; every field is optional.
func ParseUpdateParams(body map[string]json.RawMessage) (UpdateParams, error) {
	u, problems := parseFields(body)
	if len(problems) > 0 {
		return UpdateParams{}, apperr.Validation(problems)
	}
	return u, nil
}

// parseFields validates the fields present in body and reports unknown ones.
func parseFields(body map[string]json.RawMessage) (UpdateParams, []apperr.FieldError) {
	var u UpdateParams
	var problems []apperr.FieldError
	report := func(param string, fp *FieldProblem) bool {
		if fp != nil {
			problems = append(problems, apperr.FieldError{Param: param, Code: fp.Code, Message: fp.Message})
		}
		return fp == nil
	}
	for _, name := range fields {
		raw, present := body[name]
		if !present {
			continue
		}
		switch name {
		case "url":
			if v, fp := parseURL(raw); report(name, fp) {
				u.URL = &v
			}
		case "events":
			events, eventProblems := parseEvents(raw)
			problems = append(problems, eventProblems...)
			u.Events = events
		case "is_active":
			if v, fp := parseBool(name, raw); report(name, fp) {
				u.IsActive = &v
			}
		case "retry_enabled":
			if v, fp := parseBool(name, raw); report(name, fp) {
				u.RetryEnabled = &v
			}
		case "max_retries":
			if v, fp := parseMaxRetries(raw); report(name, fp) {
				u.MaxRetries = &v
			}
		}
	}
	unknown := make([]string, 0, len(body))
	for name := range body {
		if !slices.Contains(fields, name) {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		report(name, &FieldProblem{CodeParameterUnknown, fmt.Sprintf("unknown parameter %s", strconv.Quote(name))})
	}
	return u, problems
}

// jsonKind returns the JSON type of a raw value, for messages.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// wrongType describes a value of the wrong JSON type.
func wrongType(param, want string, raw json.RawMessage) *FieldProblem {
	return &FieldProblem{CodeParameterInvalidType,
		fmt.Sprintf("%s must be %s, not %s", param, want, jsonKind(raw))}
}

func parseURL(raw json.RawMessage) (string, *FieldProblem) {
	var s string
	if jsonKind(raw) != "a string" || json.Unmarshal(raw, &s) != nil {
		return "", wrongType("url", "a string", raw)
	}
	return ValidateURL(s)
}

func parseBool(param string, raw json.RawMessage) (bool, *FieldProblem) {
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, wrongType(param, "a boolean", raw)
}

func parseMaxRetries(raw json.RawMessage) (int, *FieldProblem) {
	if jsonKind(raw) != "a number" {
		return 0, wrongType("max_retries", "an integer", raw)
	}
	lit := string(bytes.TrimSpace(raw))
	if !integerLiteral(lit) {
		return 0, &FieldProblem{CodeMaxRetriesInvalid, "max_retries must be a whole number from 0 to 10"}
	}
	n, err := strconv.Atoi(lit)
	if err != nil || n < 0 || n > MaxMaxRetries {
		return 0, &FieldProblem{CodeMaxRetriesInvalid, "max_retries must be a whole number from 0 to 10"}
	}
	return n, nil
}

// knownEvents lists the event names for messages.
func knownEvents() string {
	names := make([]string, len(Events))
	for i, e := range Events {
		names[i] = string(e)
	}
	return strings.Join(names, ", ")
}

// parseEvents returns the subscribed events in canonical order without
// duplicates, or the problems found (each naming events[i]).
func parseEvents(raw json.RawMessage) ([]Event, []apperr.FieldError) {
	var items []json.RawMessage
	if jsonKind(raw) != "an array" || json.Unmarshal(raw, &items) != nil {
		fp := wrongType("events", "an array of strings", raw)
		return nil, []apperr.FieldError{{Param: "events", Code: fp.Code, Message: fp.Message}}
	}
	if len(items) == 0 {
		return nil, []apperr.FieldError{{Param: "events", Code: CodeEventsEmpty,
			Message: "events must list at least one event"}}
	}
	var problems []apperr.FieldError
	chosen := map[Event]bool{}
	for i, item := range items {
		param := fmt.Sprintf("events[%d]", i)
		var s string
		if jsonKind(item) != "a string" || json.Unmarshal(item, &s) != nil {
			fp := wrongType(param, "a string", item)
			problems = append(problems, apperr.FieldError{Param: param, Code: fp.Code, Message: fp.Message})
			continue
		}
		if !slices.Contains(Events, Event(s)) {
			problems = append(problems, apperr.FieldError{Param: param, Code: CodeEventUnknown,
				Message: fmt.Sprintf("unknown event %s; known events: %s", strconv.Quote(s), knownEvents())})
			continue
		}
		chosen[Event(s)] = true
	}
	if len(problems) > 0 {
		return nil, problems
	}
	var out []Event
	for _, e := range Events {
		if chosen[e] {
			out = append(out, e)
		}
	}
	return out, nil
}
