package delivery

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/webhook"
)

// ErrChanged is a conditional write whose condition no longer holds: the
// delivery moved on before a Begin, a Save or a Reopen (another claim
// owns it, another attempt was begun or recorded first, a notice is
// pending), or the gate no longer admits an Entry.
var ErrChanged = errors.New("delivery changed meanwhile")

// ErrNotFound is a delivery or an event that was never stored, or has
// expired (History.Delivery, History.Event). A missing webhook or signing
// secret is webhook.ErrNotFound.
var ErrNotFound = errors.New("delivery or event not found")

// The errors callers see, each with its code from apperr.

// deliveryNotFound is the error of a delivery id the webhook does not
// have (apperr.ResourceMissing).
func deliveryNotFound(id string) error {
	return apperr.ResourceMissing("delivery_id", "delivery", id, ValidDeliveryID(id))
}

// webhookDisabled is the error of a send to a webhook that is not active.
func webhookDisabled(w webhook.Webhook) error {
	msg := "the webhook is disabled, so nothing can be sent to it; re-enable it with PATCH {\"is_active\": true} first"
	if r := w.Health.DisabledReason; r != "" {
		msg = fmt.Sprintf("the service disabled the webhook (%s), so nothing can be sent to it; "+
			"fix the endpoint, then re-enable it with PATCH {\"is_active\": true}", r)
	}
	return &apperr.Error{Kind: apperr.Conflict, Code: apperr.CodeWebhookDisabled, Message: msg}
}

// deliveryInProgress is the error of a send of a delivery whose attempt is
// due or being made now, whose notice is still to be published, or that
// changed while the send was written.
func deliveryInProgress(id string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: apperr.CodeDeliveryInProgress, Param: "delivery_id",
		Message: fmt.Sprintf("delivery %s has an attempt due or in progress now; retry after it is recorded", id)}
}

// attemptLimitReached is the error of a send of a delivery that has had
// MaxDeliveryAttempts attempts.
func attemptLimitReached(id string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: apperr.CodeAttemptLimitReached, Param: "delivery_id",
		Message: fmt.Sprintf("delivery %s has had %d attempts, the most one delivery may have", id, MaxDeliveryAttempts)}
}

// eventExpired is the error of a send of an event no longer kept.
func eventExpired(id string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: apperr.CodeEventExpired,
		Message: fmt.Sprintf("event %s is no longer kept, so it cannot be sent again", id)}
}

// rateLimited is the error of a send over the webhook's rate; the caller
// may try again after wait.
func rateLimited(wait time.Duration) error {
	wait = time.Duration(math.Ceil(max(wait, time.Second).Seconds())) * time.Second
	return &apperr.Error{Kind: apperr.RateLimited, Code: apperr.CodeRateLimited, RetryAfter: wait,
		Message: fmt.Sprintf("manual sends (retries, recovered events, tests) are limited to %d a minute per webhook "+
			"and %d per account and mode; retry in %d seconds", SendsPerMinute, AccountSendsPerMinute, int(wait.Seconds()))}
}

// windowInvalid is the error of a recovery window out of bounds.
func windowInvalid(param, msg string) error {
	code := apperr.CodeSinceInvalid
	if param == "until" {
		code = apperr.CodeUntilInvalid
	}
	return apperr.Validation([]apperr.FieldError{{Param: param, Code: code, Message: msg}})
}
