package api

// Decoding: every request body and query is turned into Go values here,
// and each value of the wrong JSON type is reported here. What the values
// must then be (a URL's rules, the known events, each whole number's
// range) is the webhook package's to say.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/egress"
	"github.com/docproc/webhooks/internal/webhook"
)

// jsonObject reads the request body as a JSON object. An empty body is
// allowed (nil members) only when optional is set.
func jsonObject(req events.APIGatewayV2HTTPRequest, optional bool) (map[string]json.RawMessage, error) {
	b, err := body(req)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 && optional {
		return nil, nil
	}
	if len(b) > 0 {
		if err := checkJSONContentType(req); err != nil {
			return nil, err
		}
	}
	return decodeObject(b)
}

// decodeObject reads a JSON object into its raw members. It rejects empty
// bodies, invalid JSON (trailing data included), non-objects and duplicate
// member names with 400.
func decodeObject(b []byte) (map[string]json.RawMessage, error) {
	invalid := func(msg string) error { return apperr.New(apperr.Invalid, apperr.CodeBodyInvalid, msg) }
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, invalid("the request body is empty; send a JSON object")
	}
	if !json.Valid(b) {
		return nil, invalid("the request body is not valid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, _ := dec.Token(); tok != json.Delim('{') {
		return nil, invalid("the request body must be a JSON object")
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, invalid("the request body is not valid JSON")
		}
		name, _ := tok.(string) // json.Valid guarantees member names are strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, invalid("the request body is not valid JSON")
		}
		if _, dup := members[name]; dup {
			return nil, &apperr.Error{Kind: apperr.Invalid, Code: apperr.CodeParameterDuplicated,
				Message: fmt.Sprintf("parameter %q appears more than once", name), Param: name}
		}
		members[name] = raw
	}
	return members, checkText(b, members)
}

// checkText refuses text that encoding/json would silently repair: invalid
// UTF-8 and unpaired UTF-16 surrogates (such as "\ud800"), which it turns
// into U+FFFD. It names every member whose value holds such text; if only a
// member name does, the body as a whole is refused.
func checkText(b []byte, members map[string]json.RawMessage) error {
	if validText(b) {
		return nil
	}
	var problems []apperr.FieldError
	for _, name := range slices.Sorted(maps.Keys(members)) {
		if !validText(members[name]) {
			problems = append(problems, apperr.FieldError{Param: name, Code: apperr.CodeParameterInvalidEncoding,
				Message: name + " must be valid UTF-8 text without unpaired surrogates"})
		}
	}
	if len(problems) == 0 {
		return apperr.New(apperr.Invalid, apperr.CodeBodyInvalid, "a parameter name is not valid UTF-8 text")
	}
	return apperr.Validation(problems)
}

// validText reports whether b, JSON that json.Valid accepted, is valid
// UTF-8 and escapes no unpaired surrogate. Backslashes only occur inside
// strings there, and each \u is followed by four hex digits.
func validText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		i++ // the escaped character
		if b[i] != 'u' {
			continue
		}
		r := hex4(b[i+1:])
		i += 4
		switch {
		case utf16.IsSurrogate(r) && r >= 0xdc00: // a low surrogate first
			return false
		case utf16.IsSurrogate(r): // a high surrogate needs a low one next
			if i+6 >= len(b) || b[i+1] != '\\' || b[i+2] != 'u' {
				return false
			}
			if low := hex4(b[i+3:]); !utf16.IsSurrogate(low) || low < 0xdc00 {
				return false
			}
			i += 6
		}
	}
	return true
}

// hex4 reads the four hex digits at the start of b.
func hex4(b []byte) rune {
	n, _ := strconv.ParseUint(string(b[:4]), 16, 32) // json.Valid checked the digits
	return rune(n)
}

// settingsFields are the members of a create or update body, in the order
// their problems are reported.
var settingsFields = []string{"url", "events", "is_active", "retry_enabled", "max_retries", "rate_limit"}

// decodeCreate decodes a create body into the new webhook's settings,
// defaults applied, reporting every problem at once. The url is judged
// under dest, the deployment's egress rules.
func decodeCreate(dest egress.Rules, members map[string]json.RawMessage) (webhook.Settings, error) {
	u, d := decodeSettings(dest, members)
	if _, sent := members["url"]; !sent {
		d.problems = append([]apperr.FieldError{webhook.URLRequired().At("url")}, d.problems...)
	}
	if err := d.err(); err != nil {
		return webhook.Settings{}, err
	}
	return webhook.NewSettings(u), nil
}

// decodeUpdate decodes an update body: every member is optional. A url is
// judged under dest, the deployment's egress rules.
func decodeUpdate(dest egress.Rules, members map[string]json.RawMessage) (webhook.UpdateParams, error) {
	u, d := decodeSettings(dest, members)
	return u, d.err()
}

// decodeSettings decodes the settings members of a create or update body,
// judging a url under dest.
func decodeSettings(dest egress.Rules, members map[string]json.RawMessage) (webhook.UpdateParams, *decoder) {
	var u webhook.UpdateParams
	d := &decoder{}
	for _, name := range settingsFields {
		raw, sent := members[name]
		if !sent {
			continue
		}
		switch name {
		case "url":
			if s, ok := d.string(name, raw); ok {
				if v, p := webhook.ValidateURLWith(dest, s); d.check(name, p) {
					u.URL = &v
				}
			}
		case "events":
			u.Events = d.events(name, raw)
		case "is_active":
			u.IsActive = d.bool(name, raw)
		case "retry_enabled":
			u.RetryEnabled = d.bool(name, raw)
		case "max_retries":
			u.MaxRetries = d.wholeNumber(raw, webhook.MaxRetriesRange)
		case "rate_limit":
			u.RateLimit = d.wholeNumber(raw, webhook.RateLimitRange)
		}
	}
	d.unknown(members, settingsFields)
	return u, d
}

// decodeRotate decodes a rotate body: an optional grace_period_seconds.
// No body takes the default grace period. Problems are reported in the
// order of the members' names, and a grace period that is not a whole
// number in range, whatever its JSON type, is grace_period_invalid.
func decodeRotate(members map[string]json.RawMessage) (time.Duration, error) {
	d := &decoder{}
	grace := webhook.DefaultGracePeriod
	for _, name := range slices.Sorted(maps.Keys(members)) {
		if name != webhook.GracePeriodRange.Param {
			d.unknownParam(name)
			continue
		}
		if n, p := webhook.GracePeriodRange.Parse(string(bytes.TrimSpace(members[name]))); d.check(name, p) {
			grace = time.Duration(n) * time.Second
		}
	}
	return grace, d.err()
}

// decodeList decodes a list request's query: limit and starting_after.
func decodeList(query map[string]string) (limit int, startingAfter string, err error) {
	d := &decoder{}
	limit = webhook.DefaultPageSize
	for _, name := range slices.Sorted(maps.Keys(query)) {
		v := query[name]
		switch name {
		case "limit":
			if n, p := webhook.PageSizeRange.Parse(v); d.check(name, p) {
				limit = n
			}
		case "starting_after":
			if v == "" {
				d.check(name, &webhook.FieldProblem{Code: apperr.CodeStartingAfterInvalid,
					Message: "starting_after must be the id of one of your webhooks; leave it out for the first page"})
			}
			startingAfter = v
		default:
			d.check(name, &webhook.FieldProblem{Code: apperr.CodeParameterUnknown,
				Message: "unknown query parameter " + strconv.Quote(name)})
		}
	}
	return limit, startingAfter, d.err()
}

// decoder collects the problems of one request's parameters.
type decoder struct {
	problems []apperr.FieldError
}

// check notes p, if any, against param and reports whether there was none.
func (d *decoder) check(param string, p *webhook.FieldProblem) bool {
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

// unknownParam notes a body member the operation does not take.
func (d *decoder) unknownParam(name string) {
	d.check(name, &webhook.FieldProblem{Code: apperr.CodeParameterUnknown,
		Message: fmt.Sprintf("unknown parameter %s", strconv.Quote(name))})
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
			if e, p := webhook.ParseEvent(name); d.check(entry, p) {
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
func wrongType(param, want string, raw json.RawMessage) *webhook.FieldProblem {
	return &webhook.FieldProblem{Code: apperr.CodeParameterInvalidType,
		Message: fmt.Sprintf("%s must be %s, not %s", param, want, jsonKind(raw))}
}

// deliveriesQuery is a deliveries list request's query.
type deliveriesQuery struct {
	limit         int
	startingAfter string
	filter        delivery.Filter
}

// decodeDeliveriesQuery decodes a deliveries list's query: limit,
// starting_after, and the filters state, event_type, event_id, since and
// until.
func decodeDeliveriesQuery(query map[string]string) (deliveriesQuery, error) {
	d := &decoder{}
	q := deliveriesQuery{limit: webhook.DefaultPageSize}
	for _, name := range slices.Sorted(maps.Keys(query)) {
		v := query[name]
		switch name {
		case "limit":
			if n, p := webhook.PageSizeRange.Parse(v); d.check(name, p) {
				q.limit = n
			}
		case "starting_after":
			if !delivery.ValidDeliveryID(v) {
				d.check(name, &webhook.FieldProblem{Code: apperr.CodeStartingAfterInvalid,
					Message: "starting_after must be a delivery id (msg_...); leave it out for the first page"})
			}
			q.startingAfter = v
		case "state":
			if st, p := delivery.ParseState(v); d.check(name, p) {
				q.filter.State = st
			}
		case "event_type":
			if e, p := webhook.ParseEvent(v); d.check(name, p) {
				q.filter.Type = e
			}
		case "event_id":
			q.filter.EventID = v
		case "since":
			q.filter.Since = d.time(name, apperr.CodeSinceInvalid, v)
		case "until":
			q.filter.Until = d.time(name, apperr.CodeUntilInvalid, v)
		default:
			d.check(name, &webhook.FieldProblem{Code: apperr.CodeParameterUnknown,
				Message: "unknown query parameter " + strconv.Quote(name)})
		}
	}
	if f := q.filter; !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		d.check("until", &webhook.FieldProblem{Code: apperr.CodeUntilInvalid, Message: "until must be after since"})
	}
	return q, d.err()
}

// recoverFields are the members of a recover body.
var recoverFields = []string{"since", "until", "starting_after"}

// decodeRecover decodes a recover body: since (required), until (zero,
// meaning now, when left out) and starting_after (an event id, to go on
// with a recovery).
func decodeRecover(members map[string]json.RawMessage) (delivery.Window, error) {
	d := &decoder{}
	var win delivery.Window
	if _, sent := members["since"]; !sent {
		d.check("since", &webhook.FieldProblem{Code: apperr.CodeParameterMissing,
			Message: "since is required: the start of the window to recover, an RFC 3339 time"})
	}
	for _, name := range recoverFields {
		raw, sent := members[name]
		if !sent {
			continue
		}
		s, ok := d.string(name, raw)
		if !ok {
			continue
		}
		switch name {
		case "since":
			win.Since = d.time(name, apperr.CodeSinceInvalid, s)
		case "until":
			win.Until = d.time(name, apperr.CodeUntilInvalid, s)
		case "starting_after":
			if s == "" || len(s) > delivery.MaxEventIDLen {
				d.check(name, &webhook.FieldProblem{Code: apperr.CodeStartingAfterInvalid,
					Message: fmt.Sprintf("starting_after must be an event id (at most %d bytes) from a recovery's next window; "+
						"leave it out to start at since", delivery.MaxEventIDLen)})
			}
			win.StartingAfter = s
		}
	}
	d.unknown(members, recoverFields)
	return win, d.err()
}

// decodeTest decodes a test body: the event type to send.
func decodeTest(members map[string]json.RawMessage) (webhook.EventType, error) {
	d := &decoder{}
	var typ webhook.EventType
	raw, sent := members["type"]
	switch {
	case !sent:
		d.check("type", &webhook.FieldProblem{Code: apperr.CodeParameterMissing,
			Message: "type is required: the event type of the test event"})
	default:
		if s, ok := d.string("type", raw); ok {
			if e, p := webhook.ParseEvent(s); d.check("type", p) {
				typ = e
			}
		}
	}
	d.unknown(members, []string{"type"})
	return typ, d.err()
}

// acting reads a POST that acts: its Idempotency-Key header, then its
// body, a JSON object (which may be left out when optional), with decode.
func acting[T any](c *call, optional bool, decode func(map[string]json.RawMessage) (T, error)) (key string, v T, err error) {
	if key, err = idempotencyKey(c.req); err != nil {
		return "", v, err
	}
	members, err := jsonObject(c.req, optional)
	if err != nil {
		return "", v, err
	}
	v, err = decode(members)
	return key, v, err
}

// decodeNone decodes a body that takes no member: no body, or {}.
func decodeNone(members map[string]json.RawMessage) (struct{}, error) {
	d := &decoder{}
	d.unknown(members, nil)
	return struct{}{}, d.err()
}

// time decodes an RFC 3339 time; the zero time if it is not one.
func (d *decoder) time(param, code, s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.check(param, &webhook.FieldProblem{Code: code,
			Message: param + " must be an RFC 3339 time, such as 2026-12-01T09:00:00Z"})
		return time.Time{}
	}
	return t.UTC()
}
