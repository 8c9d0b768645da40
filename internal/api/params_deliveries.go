package api

// The parameters of the delivery operations: list, recover and test (a
// retry takes none).

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/webhook"
)

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
				d.check(name, &apperr.FieldProblem{Code: apperr.CodeStartingAfterInvalid,
					Message: "starting_after must be a delivery id (msg_...); leave it out for the first page"})
			}
			q.startingAfter = v
		case "state":
			if st, p := delivery.ParseState(v); d.check(name, p) {
				q.filter.State = st
			}
		case "event_type":
			if e, p := webhook.ParseEventType(v); d.check(name, p) {
				q.filter.Type = e
			}
		case "event_id":
			q.filter.EventID = v
		case "since":
			q.filter.Since = d.time(name, apperr.CodeSinceInvalid, v)
		case "until":
			q.filter.Until = d.time(name, apperr.CodeUntilInvalid, v)
		default:
			d.unknownQuery(name)
		}
	}
	if f := q.filter; !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		d.check("until", &apperr.FieldProblem{Code: apperr.CodeUntilInvalid, Message: "until must be after since"})
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
		d.check("since", &apperr.FieldProblem{Code: apperr.CodeParameterMissing,
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
				d.check(name, &apperr.FieldProblem{Code: apperr.CodeStartingAfterInvalid,
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
		d.check("type", &apperr.FieldProblem{Code: apperr.CodeParameterMissing,
			Message: "type is required: the event type of the test event"})
	default:
		if s, ok := d.string("type", raw); ok {
			if e, p := webhook.ParseEventType(s); d.check("type", p) {
				typ = e
			}
		}
	}
	d.unknown(members, []string{"type"})
	return typ, d.err()
}

// decodeNone decodes a body that takes no member: no body, or {}.
func decodeNone(members map[string]json.RawMessage) (struct{}, error) {
	d := &decoder{}
	d.unknown(members, nil)
	return struct{}{}, d.err()
}
