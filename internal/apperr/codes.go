package apperr

// Error codes: the stable, machine-readable reasons callers match on, in
// the "code" member of an error response (and of each "details" entry).
// This is the one list of them; docs/api.md says what each means, and a
// test holds the two together. The Kind an error is built with decides
// its HTTP status.
const (
	// CodeBodyInvalid: the body is empty, not JSON, not an object, or not
	// valid base64 (400).
	CodeBodyInvalid = "body_invalid"
	// CodeBodyTooLarge: the body is over the size limit (413).
	CodeBodyTooLarge = "body_too_large"
	// CodeContentTypeUnsupported: the body is not sent as application/json (415).
	CodeContentTypeUnsupported = "content_type_unsupported"
	// CodeParameterDuplicated: a member appears twice in the body (400).
	CodeParameterDuplicated = "parameter_duplicated"
	// CodeParameterInvalidEncoding: a member holds invalid UTF-8 or an
	// unpaired surrogate (400).
	CodeParameterInvalidEncoding = "parameter_invalid_encoding"
	// CodeParameterMissing: a required parameter is missing (400).
	CodeParameterMissing = "parameter_missing"
	// CodeParameterUnknown: a body member or query parameter the operation
	// does not take (400).
	CodeParameterUnknown = "parameter_unknown"
	// CodeParameterInvalidType: a parameter of the wrong JSON type (400).
	CodeParameterInvalidType = "parameter_invalid_type"

	// CodeURLInvalid: url is not an absolute https URL within the rules (400).
	CodeURLInvalid = "url_invalid"
	// CodeURLForbiddenHost: url points inside a network (400).
	CodeURLForbiddenHost = "url_forbidden_host"
	// CodeEventsEmpty: events is an empty list (400).
	CodeEventsEmpty = "events_empty"
	// CodeEventUnknown: an entry of events, a test's type or a deliveries
	// list's event_type is not a known event type (400).
	CodeEventUnknown = "event_unknown"
	// CodeMaxRetriesInvalid: max_retries is not a whole number in range (400).
	CodeMaxRetriesInvalid = "max_retries_invalid"
	// CodeRateLimitInvalid: rate_limit is neither null nor a whole number
	// in range (400).
	CodeRateLimitInvalid = "rate_limit_invalid"
	// CodeGracePeriodInvalid: grace_period_seconds is not a whole number in
	// range (400).
	CodeGracePeriodInvalid = "grace_period_invalid"
	// CodeLimitInvalid: the list's limit is not a whole number in range (400).
	CodeLimitInvalid = "limit_invalid"
	// CodeStartingAfterInvalid: starting_after is empty or not what its
	// list or recovery goes on from: one of the caller's webhooks, a
	// delivery id, an event id (400).
	CodeStartingAfterInvalid = "starting_after_invalid"

	// CodeStateInvalid: a deliveries list's state is not a delivery state (400).
	CodeStateInvalid = "state_invalid"
	// CodeSinceInvalid: since is not an RFC 3339 time in the range allowed (400).
	CodeSinceInvalid = "since_invalid"
	// CodeUntilInvalid: until is not an RFC 3339 time after since (400).
	CodeUntilInvalid = "until_invalid"

	// CodeWebhookLimitReached: the account holds the most webhooks allowed
	// in this mode (400).
	CodeWebhookLimitReached = "webhook_limit_reached"
	// CodeRotationLimitReached: a rotation would keep more earlier secrets
	// in their grace period than allowed (400).
	CodeRotationLimitReached = "rotation_limit_reached"
	// CodeResourceMissing: no such webhook for this account and mode, or
	// no such delivery of it (404).
	CodeResourceMissing = "resource_missing"
	// CodeWebhookBusy: other requests kept changing the webhook (409).
	CodeWebhookBusy = "webhook_busy"
	// CodeRotationInProgress: another request is rotating the secret (409).
	CodeRotationInProgress = "rotation_in_progress"
	// CodeWebhookDisabled: the webhook is not active, so nothing can be
	// sent to it; re-enable it first (409).
	CodeWebhookDisabled = "webhook_disabled"
	// CodeDeliveryInProgress: an attempt of the delivery is due or being
	// made now (409).
	CodeDeliveryInProgress = "delivery_in_progress"
	// CodeAttemptLimitReached: the delivery has had the most attempts one
	// delivery may have (409).
	CodeAttemptLimitReached = "attempt_limit_reached"
	// CodeEventExpired: the delivery's event is no longer kept, so it
	// cannot be sent again (409).
	CodeEventExpired = "event_expired"
	// CodeRateLimited: the webhook's manual sends (retries, recoveries,
	// tests) are over their rate; retry after Retry-After seconds (429).
	CodeRateLimited = "rate_limited"

	// CodeIdempotencyKeyInvalid: the Idempotency-Key header is malformed (400).
	CodeIdempotencyKeyInvalid = "idempotency_key_invalid"
	// CodeIdempotencyKeyReused: the key was used with other parameters (400).
	CodeIdempotencyKeyReused = "idempotency_key_reused"
	// CodeIdempotencyKeyInUse: the key's first request is still running (409).
	CodeIdempotencyKeyInUse = "idempotency_key_in_use"
	// CodeIdempotencyReplayUnavailable: the key's first response carried a
	// secret that is no longer held, so it cannot be given again (410).
	CodeIdempotencyReplayUnavailable = "idempotency_replay_unavailable"

	// CodeAPIKeyMissing: no API key was sent (401).
	CodeAPIKeyMissing = "api_key_missing"
	// CodeAPIKeyInvalid: the API key is malformed, unknown, sent with
	// another scheme, or two different keys were sent (401).
	CodeAPIKeyInvalid = "api_key_invalid"
	// CodeAPIKeyRevoked: the API key was revoked (401).
	CodeAPIKeyRevoked = "api_key_revoked"

	// CodeRouteNotFound: no route has this path (404).
	CodeRouteNotFound = "route_not_found"
	// CodeMethodNotAllowed: the route does not take this method (405).
	CodeMethodNotAllowed = "method_not_allowed"

	// CodeServiceUnavailable: a dependency was throttled, timed out or
	// could not be reached; retry (503).
	CodeServiceUnavailable = "service_unavailable"
	// CodeInternalError: anything else; the details are only in the log (500).
	CodeInternalError = "internal_error"
)
