package delivery

import (
	"context"
	"time"

	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// Message is one delivery queued for one endpoint: the fan-out sends it,
// the deliverer attempts it until it is delivered, skipped or out of
// attempts. Its JSON form is the delivery queue's message body.
type Message struct {
	// DeliveryID is the delivery's id and webhook-id header.
	DeliveryID string `json:"delivery_id"`
	// EventID is the event's id.
	EventID string `json:"event_id"`
	// EventType is the event's type.
	EventType webhook.EventType `json:"event_type"`
	// EventTime is when the event happened.
	EventTime time.Time `json:"event_time"`
	// Account and Mode own the event and the endpoint.
	Account string `json:"account"`
	// Mode is test or live.
	Mode tenant.Mode `json:"mode"`
	// WebhookID is the endpoint.
	WebhookID string `json:"webhook_id"`
	// Payload is the body to POST, the same bytes for every endpoint and
	// attempt (base64 in JSON, so no re-encoding can change them).
	Payload []byte `json:"payload"`
	// Claim, when set, is the claim a manual send (a retry, a recovery, a
	// test) made on the delivery before queueing the message: its receipts
	// own the delivery under it, instead of under the queue's message id.
	Claim string `json:"claim,omitempty"`
	// Test marks a test event: it goes to its endpoint whatever the
	// endpoint subscribes to.
	Test bool `json:"test,omitempty"`
	// SeriesStart is when the delivery's series of attempts began: the
	// event's time for the fan-out's, the send's time for a manual send's.
	// No retry is scheduled past SeriesStart plus the horizon. Zero means
	// EventTime.
	SeriesStart time.Time `json:"series_start,omitzero"`
	// Deferrals counts the times its endpoint's gate held the delivery
	// back; each hold waits longer (holdBackoff).
	Deferrals int `json:"deferrals,omitempty"`
}

// Owner is the message's account and mode.
func (m Message) Owner() tenant.Tenant { return tenant.Tenant{Account: m.Account, Mode: m.Mode} }

// Subscribers finds the endpoints an event goes to.
type Subscribers interface {
	// Webhooks returns every webhook of owner, in one query of its
	// partition.
	Webhooks(ctx context.Context, owner tenant.Tenant) ([]webhook.Webhook, error)
}

// EventLog keeps events, so that a second publish of the same event id is
// recognised. Events expire after the retention period.
type EventLog interface {
	// Keep stores ev unless an event with its owner and id is stored
	// already; it returns the SourceID of the event stored first, which is
	// ev.SourceID unless ev is a second publish.
	Keep(ctx context.Context, ev Event, expires time.Time) (firstSourceID string, err error)
}

// Queue takes delivery messages.
type Queue interface {
	// Send queues msgs. It returns an error unless every one was queued;
	// sending the same message again is safe (the deliverer drops a
	// duplicate).
	Send(ctx context.Context, msgs []Message) error
	// SendLater queues m to be received no sooner than after, which is at
	// most MaxDelay. Until then it is delayed, not in flight.
	SendLater(ctx context.Context, m Message, after time.Duration) error
}

// Status is a delivery's stored state.
type Status struct {
	// Exists is false before the first attempt is recorded.
	Exists bool
	// State is where the delivery stands.
	State State
	// Attempts counts the attempts made.
	Attempts int
	// Claim is the queue message that owns the delivery: only that message
	// makes attempts, so a duplicate message cannot start a second series
	// of retries.
	Claim string
	// ClaimedUntil is when Claim's lease ends: past it, another message
	// may take the delivery over.
	ClaimedUntil time.Time
	// PriorClaim is set while a manual send that took a pending delivery
	// over has recorded no attempt: it is the claim of the series the
	// send took it from. The send's message may never have been queued
	// (its queueing failed, and so did the undo), so that series' message
	// does not give up: it waits for the send's lease to end, then takes
	// the delivery back.
	PriorClaim string
	// NextAttemptAt is when a pending delivery's next attempt is due.
	NextAttemptAt time.Time
	// AttemptLimit, when not 0, is the most attempts the delivery may
	// reach: a manual send of a finished delivery allows one more. When 0,
	// the webhook's retry settings decide (MaxAttempts).
	AttemptLimit int
	// Reason says why the delivery was skipped or failed for good.
	Reason string
	// NoticePending says an operational notice of this delivery's outcome
	// (Notice) is still to be published.
	NoticePending bool
	// UpdatedAt is when the delivery's state was last written: for a
	// finished delivery, when its outcome was recorded (the time of its
	// last step), which its notice carries.
	UpdatedAt time.Time
	// Begun is the number of the last attempt begun (Store.Begin); it is
	// above Attempts while that attempt's outcome is not recorded.
	Begun int
	// BegunAt is when attempt Begun began.
	BegunAt time.Time
	// BegunUntil is when attempt Begun's lease ends: until then the
	// receipt that began it may still be making it; past it, the attempt
	// was interrupted and its outcome is lost.
	BegunUntil time.Time
	// ResendAt is when the store queues the pending delivery's message
	// again (Record.ResendAt); zero when it is not parked there.
	ResendAt time.Time
}

// InProgress reports whether an attempt of the delivery was begun and may
// still be being made at now.
func (s Status) InProgress(now time.Time) bool {
	return s.Begun > s.Attempts && now.Before(s.BegunUntil)
}

// Target is a delivery's endpoint as it is now, its gate, and the
// delivery's state.
type Target struct {
	// Found is false when the webhook was deleted.
	Found bool
	// Webhook is the endpoint, with its delivery health.
	Webhook webhook.Webhook
	// Gate is the endpoint's gate (empty before its first attempt).
	Gate Gate
	// Delivery is the delivery's state.
	Delivery Status
}

// Gates keeps the endpoints' gates.
type Gates interface {
	// Enter writes e: it is ErrChanged when the gate no longer admits it
	// (another attempt took the last slot or the second's last send, an
	// expired holder was already removed, the breaker's state changed).
	Enter(ctx context.Context, e Entry) error
	// Exit writes x. An exit whose holder is gone (its lease ended and
	// another entry removed it) still counts the attempt for the breaker.
	Exit(ctx context.Context, x Exit) error
}

// HealthChange is what a recorded attempt changes on its webhook.
type HealthChange int

// The health changes.
const (
	// NoChange leaves the webhook alone.
	NoChange HealthChange = iota
	// StartFailing notes the first failed attempt since the last success.
	StartFailing
	// CountFailure counts one more failed attempt while failing, until
	// there are DisableAfterAttempts.
	CountFailure
	// Recover clears FailingSince after a delivered attempt.
	Recover
	// Disable sets is_active false with a reason.
	Disable
)

// ApplyHealth makes r's change to w's health as the store's conditional
// update does (the DynamoDB adapter's healthUpdate writes the same); the
// in-memory stores (the tests', the scale simulation's) keep webhooks'
// health with it.
func (r Record) ApplyHealth(w *webhook.Webhook) {
	switch r.Health {
	case StartFailing:
		if w.Health.FailingSince.IsZero() {
			w.Health.FailingSince, w.Health.FailingAttempts = r.At, 1
		}
	case CountFailure:
		if !w.Health.FailingSince.IsZero() {
			w.Health.FailingAttempts++
		}
	case Recover:
		w.Health.FailingSince, w.Health.FailingAttempts = time.Time{}, 0
	case Disable:
		w.IsActive, w.Health.DisabledReason, w.Health.DisabledAt = false, r.Reason, r.At
		w.Version++
	}
}

// Record is what one step of a delivery writes: the attempt made (if any),
// the delivery's new state, and the change to its webhook's health. The
// write is conditional on the delivery still being pending at Prior
// attempts and owned by Claim, or by a message whose lease ended (or not
// existing yet).
type Record struct {
	// Message is the delivery.
	Message Message
	// Attempt is the attempt made; nil when none was (skipped).
	Attempt *Attempt
	// State is the delivery's state after this step.
	State State
	// Reason says why a delivery was skipped or failed for good.
	Reason string
	// Attempts counts attempts after this step.
	Attempts int
	// Prior is the count the stored delivery must still have.
	Prior int
	// Claim is the owning queue message.
	Claim string
	// NextAttemptAt is when the next attempt is due (pending only).
	NextAttemptAt time.Time
	// ClaimedUntil is when Claim's lease ends (pending only).
	ClaimedUntil time.Time
	// ResendAt is when, unless an attempt is recorded first, the
	// delivery's message must be queued again from the store (pending
	// only; see Park): a wait longer than MaxDelay is kept there, and a
	// shorter one, queued as a delayed message, is kept there too in case
	// that message is lost.
	ResendAt time.Time
	// WebhookVersion is the webhook's version as read: disabling it is
	// conditional on it, so that a change made since (a new URL, a
	// re-enable) is not undone.
	WebhookVersion int
	// Health is the change to the webhook.
	Health HealthChange
	// Notify says the step owes an operational notice (NoticeFor): it is
	// stored as pending with the step, and cleared once published.
	Notify bool
	// At is when the step happened.
	At time.Time
	// Expires is when the delivery's records may be removed.
	Expires time.Time
}

// Begin is the write that starts an attempt: the attempt's number is
// taken before its POST, so that no other receipt of the delivery's
// message makes a POST of the same number.
type Begin struct {
	// Message is the delivery.
	Message Message
	// Number is the attempt's number: Prior + 1.
	Number int
	// Prior is the count of recorded attempts the delivery must have.
	Prior int
	// Claim is the owning message's claim.
	Claim string
	// ClaimedUntil is the claim's lease, taken (or kept) with the attempt.
	ClaimedUntil time.Time
	// At is when the attempt begins.
	At time.Time
	// Until is when the attempt's lease ends: its outcome is recorded
	// before then, or it counts as interrupted.
	Until time.Time
	// Expires is when the delivery's records may be removed.
	Expires time.Time
}

// Store keeps deliveries and their attempts.
type Store interface {
	// Begin takes attempt b.Number of the delivery, creating the delivery
	// when b.Prior is 0 and it does not exist. It is ErrChanged unless
	// the delivery is pending (or new) with b.Prior attempts, owned by
	// b.Claim or by a claim whose lease ended, and no other attempt is in
	// progress. A retry of a Begin that committed is a success.
	Begin(ctx context.Context, b Begin) error
	// Target reads, in one consistent read, owner's webhook, its gate and
	// the state of delivery deliveryID to it.
	Target(ctx context.Context, owner tenant.Tenant, webhookID, deliveryID string) (Target, error)
	// Save writes r in one transaction: the attempt record (r.Attempt's
	// number must be the attempt begun), the delivery's
	// new state and the webhook's health. It is ErrChanged when the
	// delivery moved on (another live message owns it, or its attempts are
	// not r.Prior), and a retry of a write that committed is a success.
	// When only the health change fails its condition (the webhook was
	// deleted or changed since it was read), the rest is written without
	// it, and without the notice when the change was a Disable. notified
	// reports whether r's notice was stored (r.Notify, unless dropped so).
	Save(ctx context.Context, r Record) (notified bool, err error)
	// NoticeSent clears the delivery's pending notice, if the delivery
	// still has the attempts it had when the notice was owed: a later
	// outcome's notice stays pending.
	NoticeSent(ctx context.Context, webhookID, deliveryID string, attempts int) error
}

// Notifier publishes operational notices to the platform (the stack's
// event bus), so that it can tell the endpoint's owner.
type Notifier interface {
	// Notify publishes n. Publishing the same notice twice is possible
	// (at least once); n.ID lets a consumer drop the second.
	Notify(ctx context.Context, n Notice) error
}

// Secrets reads webhooks' signing secrets (webhook.SecretStore's Get).
type Secrets interface {
	// Get returns the secrets stored at ref.
	Get(ctx context.Context, ref string) (webhook.SecretSet, error)
}

// Sender makes one attempt.
type Sender interface {
	// Send POSTs req and reports what came back. It does not return
	// errors: every failure is a Response with an ErrorClass.
	Send(ctx context.Context, req Request) Response
}

// Parked is a pending delivery as the store keeps it for its next
// attempt: its message without the payload, and when it is due.
type Parked struct {
	// Message is the delivery's message, with its claim; Payload is nil.
	Message Message
	// Attempts counts the attempts recorded.
	Attempts int
	// NextAttemptAt is when the next attempt is due.
	NextAttemptAt time.Time
	// ResendAt is when the message must be queued again.
	ResendAt time.Time
}

// Parking finds the pending deliveries whose messages are to be queued
// again (Record.ResendAt), spread over ParkingShards partitions so that no
// one partition takes every write.
type Parking interface {
	// Due lists, oldest ResendAt first, up to limit deliveries of shard
	// whose ResendAt is not after before.
	Due(ctx context.Context, shard int, before time.Time, limit int) ([]Parked, error)
	// Requeued moves p's ResendAt to resendAt, if the delivery still has
	// p's attempts and ResendAt. A delivery that moved on is left alone.
	Requeued(ctx context.Context, p Parked, resendAt time.Time) error
	// Payloads reads the payloads of owner's events ids; an event no
	// longer kept is absent.
	Payloads(ctx context.Context, owner tenant.Tenant, ids []string) (map[string][]byte, error)
}
