package delivery

import (
	"cmp"
	"time"

	"github.com/docproc/webhooks/internal/webhook"
)

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

// Reasons a delivery ends without being delivered, and why the service
// disabled a webhook. Records and the API show them.
const (
	// ReasonDeleted: the webhook, or its signing secret, was deleted.
	ReasonDeleted = "webhook_deleted"
	// ReasonInactive: the webhook is not active.
	ReasonInactive = "webhook_inactive"
	// ReasonUnsubscribed: the webhook no longer subscribes to the event.
	ReasonUnsubscribed = "event_not_subscribed"
	// ReasonExhausted: the last attempt allowed (by the webhook's retry
	// settings, or by a manual send's AttemptLimit) failed, or the next
	// would fall past the horizon or the event's retention.
	ReasonExhausted = "attempts_exhausted"
	// ReasonGone: the endpoint answered 410 Gone, which disables it.
	ReasonGone = "endpoint_gone"
	// ReasonFailing: every attempt to the endpoint failed for DisableAfter,
	// and there were DisableAfterAttempts of them at least, which disables
	// it.
	ReasonFailing = "endpoint_failing"
)

// DefaultDisableAfter is how long an endpoint's attempts may all fail
// before it is disabled (after Svix).
const DefaultDisableAfter = 5 * 24 * time.Hour

// DisableAfterAttempts is how many attempts in a row must have failed,
// besides for DisableAfter, before an endpoint is disabled: an endpoint
// that gets little traffic is not disabled by its second failure because
// the first was long ago. Svix, too, starts its 5 days only after
// several failures; 10 is the least number of requests Convoy's circuit
// breaker judges an endpoint on.
const DisableAfterAttempts = 10

// MaxAttempts is how many attempts a webhook's settings allow an event:
// one, plus MaxRetries when retries are enabled.
func MaxAttempts(s webhook.Settings) int {
	if !s.RetryEnabled {
		return 1
	}
	return 1 + s.MaxRetries
}

// attemptLimit is the most attempts a delivery in state st may reach
// under settings s: the limit a manual send set, else MaxAttempts.
func attemptLimit(st Status, s webhook.Settings) int {
	if st.AttemptLimit > 0 {
		return st.AttemptLimit
	}
	return MaxAttempts(s)
}

// judge decides what an attempt's response means for the delivery and
// the webhook, and returns the step: it fills rec's state, reason and
// health change, and, for a retry, when the next attempt is due.
func (d *Deliverer) judge(rec *Record, t Target, resp Response) Step {
	switch Judge(resp) {
	case VerdictDelivered:
		rec.State = StateDelivered
		if !t.Webhook.Health.FailingSince.IsZero() {
			rec.Health = Recover
		}
		return Step{Outcome: OutcomeDelivered}
	case VerdictGone:
		rec.State, rec.Reason, rec.Health = StateFailed, ReasonGone, Disable
		return Step{Outcome: OutcomeFailed, Reason: ReasonGone}
	}
	// This attempt is one more failure in a row; the count is kept only
	// as far as the rule needs it.
	since, failures := t.Webhook.Health.FailingSince, t.Webhook.Health.FailingAttempts+1
	switch {
	case since.IsZero():
		since, failures, rec.Health = rec.At, 1, StartFailing
	case failures <= DisableAfterAttempts:
		rec.Health = CountFailure
	}
	switch {
	case rec.At.Sub(since) >= cmp.Or(d.DisableAfter, DefaultDisableAfter) && failures >= DisableAfterAttempts:
		rec.State, rec.Reason, rec.Health = StateFailed, ReasonFailing, Disable
		return Step{Outcome: OutcomeFailed, Reason: ReasonFailing}
	case rec.Attempts >= attemptLimit(t.Delivery, t.Webhook.Settings):
		rec.State, rec.Reason = StateFailed, ReasonExhausted
		return Step{Outcome: OutcomeFailed, Reason: ReasonExhausted}
	}
	schedule := d.Schedule
	if len(schedule) == 0 {
		schedule = DefaultSchedule
	}
	wait := schedule.Wait(rec.Attempts, resp.RetryAfter)
	// No retry past the horizon, nor past when the event (its payload)
	// may no longer be kept, with a tenth of the retention (at most an
	// hour) to spare: the sweeper could not send it.
	last := cmp.Or(rec.Message.SeriesStart, rec.Message.EventTime).Add(cmp.Or(d.Horizon, DefaultHorizon))
	retention := cmp.Or(d.Retention, DefaultRetention)
	if kept := rec.Message.EventTime.Add(retention - min(time.Hour, retention/10)); kept.Before(last) {
		last = kept
	}
	if rec.At.Add(wait).After(last) {
		rec.State, rec.Reason = StateFailed, ReasonExhausted
		return Step{Outcome: OutcomeFailed, Reason: ReasonExhausted}
	}
	rec.State, rec.NextAttemptAt = StatePending, rec.At.Add(wait)
	rec.ClaimedUntil = rec.NextAttemptAt.Add(LeaseSlack)
	rec.ResendAt = resendAt(rec.At, rec.NextAttemptAt)
	return Step{Outcome: OutcomeRetry, Retry: true, Wait: wait}
}
