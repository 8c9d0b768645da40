package api

// Decoding: every request body and query is turned into Go values by a
// decoder, and each value of the wrong JSON type is reported here. What
// the values must then be is the domain packages' to say: webhook's rules
// (a URL's, the known event types, each whole number's range) and
// delivery's (a delivery state, a delivery id, an event id's length).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/webhook"
)

// decoder collects the problems of one request's parameters.
type decoder struct {
	problems []apperr.FieldError
}

// check notes p, if any, against param and reports whether there was none.
func (d *decoder) check(param string, p *apperr.FieldProblem) bool {
	if p != nil {
		d.problems = append(d.problems, p.At(param))
	}
	return p == nil
}

// err is the validation error of every problem noted, or nil.
func (d *decoder) err() error {
	if len(d.problems) == 0 {
		return nil
	}
	return apperr.Validation(d.problems)
}

// unknown notes every member of members that is not in known, by name.
func (d *decoder) unknown(members map[string]json.RawMessage, known []string) {
	for _, name := range slices.Sorted(maps.Keys(members)) {
		if !slices.Contains(known, name) {
			d.unknownParam(name)
		}
	}
}

// unknownParam notes a body member the operation does not take. Its name
// is repeated only as apperr.Echo allows.
func (d *decoder) unknownParam(name string) {
	d.check(apperr.EchoParam(name), &apperr.FieldProblem{Code: apperr.CodeParameterUnknown,
		Message: "unknown parameter " + apperr.Quote(name)})
}

// unknownQuery notes a query parameter the operation does not take. Its
// name is repeated only as apperr.Echo allows.
func (d *decoder) unknownQuery(name string) {
	d.check(apperr.EchoParam(name), &apperr.FieldProblem{Code: apperr.CodeParameterUnknown,
		Message: "unknown query parameter " + apperr.Quote(name)})
}

// string decodes a JSON string.
func (d *decoder) string(param string, raw json.RawMessage) (string, bool) {
	var s string
	if jsonKind(raw) != "a string" || json.Unmarshal(raw, &s) != nil {
		return "", d.check(param, wrongType(param, "a string", raw))
	}
	return s, true
}

// bool decodes a JSON boolean; nil if it is not one.
func (d *decoder) bool(param string, raw json.RawMessage) *bool {
	var b bool
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		b = true
	case "false":
	default:
		d.check(param, wrongType(param, "a boolean", raw))
		return nil
	}
	return &b
}

// wholeNumber decodes a JSON number within r, or null where r allows it
// (as 0); nil if it is neither.
func (d *decoder) wholeNumber(raw json.RawMessage, r webhook.Range) *int {
	if kind := jsonKind(raw); kind != "a number" && (kind != "null" || r.Null == "") {
		want := "an integer"
		if r.Null != "" {
			want = "an integer or null"
		}
		d.check(r.Param, wrongType(r.Param, want, raw))
		return nil
	}
	n, p := r.Parse(string(bytes.TrimSpace(raw)))
	if !d.check(r.Param, p) {
		return nil
	}
	return &n
}

// events decodes a JSON array of event names into a subscription; nil if
// it has a problem. Each entry's problem names it, as events[i].
func (d *decoder) events(param string, raw json.RawMessage) []webhook.EventType {
	var items []json.RawMessage
	if jsonKind(raw) != "an array" || json.Unmarshal(raw, &items) != nil {
		d.check(param, wrongType(param, "an array of strings", raw))
		return nil
	}
	before := len(d.problems)
	chosen := make([]webhook.EventType, 0, len(items))
	for i, item := range items {
		entry := fmt.Sprintf("%s[%d]", param, i)
		if name, ok := d.string(entry, item); ok {
			if e, p := webhook.ParseEventType(name); d.check(entry, p) {
				chosen = append(chosen, e)
			}
		}
	}
	if len(d.problems) > before {
		return nil
	}
	events, p := webhook.Subscribe(chosen)
	d.check(param, p)
	return events
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

// wrongType is the problem of a value of the wrong JSON type.
func wrongType(param, want string, raw json.RawMessage) *apperr.FieldProblem {
	return &apperr.FieldProblem{Code: apperr.CodeParameterInvalidType,
		Message: fmt.Sprintf("%s must be %s, not %s", param, want, jsonKind(raw))}
}

// time decodes an RFC 3339 time; the zero time if it is not one.
func (d *decoder) time(param, code, s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.check(param, &apperr.FieldProblem{Code: code,
			Message: param + " must be an RFC 3339 time, such as 2026-12-01T09:00:00Z"})
		return time.Time{}
	}
	return t.UTC()
}
