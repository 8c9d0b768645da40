package api

// The parameters of the webhook operations: create, update, rotate and
// list.

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/egress"
	"github.com/docproc/webhooks/internal/webhook"
)

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
				d.check(name, &apperr.FieldProblem{Code: apperr.CodeStartingAfterInvalid,
					Message: "starting_after must be the id of one of your webhooks; leave it out for the first page"})
			}
			startingAfter = v
		default:
			d.unknownQuery(name)
		}
	}
	return limit, startingAfter, d.err()
}
