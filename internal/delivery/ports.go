package delivery

import (
	"context"
	"time"

	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// The fan-out's ports.

// Subscribers finds the endpoints an event goes to.
type Subscribers interface {
	// Webhooks returns every webhook of owner, in one query of its
	// partition.
	Webhooks(ctx context.Context, owner tenant.Tenant) ([]webhook.Webhook, error)
}

// EventLog keeps events, so that a second publish of the same event id is
// recognised and a delivery can be sent again from its event (History
// reads them). Events expire after the retention period.
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

// The deliverer's ports (it uses Queue too).

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

// Notifier publishes operational notices to the platform (the stack's
// event bus), so that it can tell the endpoint's owner.
type Notifier interface {
	// Notify publishes n. Publishing the same notice twice is possible
	// (at least once); n.ID lets a consumer drop the second.
	Notify(ctx context.Context, n Notice) error
}

// The sweeper's port (the deliverer's too, for deliveries its breaker holds).

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

// The manager's ports (it uses EventLog and Queue too).

// Endpoints reads webhooks as their owner sees them.
type Endpoints interface {
	// Get returns owner's webhook id; an apperr not-found error when
	// owner has none by that id.
	Get(ctx context.Context, owner tenant.Tenant, id string) (webhook.Webhook, error)
}

// History reads what deliveries did.
type History interface {
	// Deliveries lists webhookID's deliveries that match f, newest event
	// first, after startingAfter (a delivery id; "" from the start), up to
	// limit. It looks at a bounded number of deliveries per call; a
	// filtered page may be short with HasMore set.
	Deliveries(ctx context.Context, webhookID string, f Filter, limit int, startingAfter string) (Page, error)
	// Delivery reads webhookID's delivery deliveryID; ErrNotFound when
	// there is none.
	Delivery(ctx context.Context, webhookID, deliveryID string) (Summary, error)
	// Attempts reads the attempts of webhookID's delivery deliveryID,
	// oldest first.
	Attempts(ctx context.Context, webhookID, deliveryID string) ([]Attempt, error)
	// Statuses reads the state of webhookID's deliveries ids; those never
	// recorded are missing from the map.
	Statuses(ctx context.Context, webhookID string, ids []string) (map[string]Status, error)
	// Event reads owner's stored event id; ErrNotFound when it was never
	// stored or has expired.
	Event(ctx context.Context, owner tenant.Tenant, id string) (Event, error)
	// Events lists owner's stored events (not tests) of time in [since,
	// until), oldest first, after the event startingAfter at time since
	// when it is not "", up to limit; more says whether there are more.
	// The events come without their payloads (see Payloads).
	Events(ctx context.Context, owner tenant.Tenant, since, until time.Time, startingAfter string, limit int) (evs []Event, more bool, err error)
	// Gate reads webhookID's gate (its breaker); an empty one when it has
	// none.
	Gate(ctx context.Context, webhookID string) (Gate, error)
	// Payloads reads the payloads of owner's events ids; an event no
	// longer kept is missing from the map.
	Payloads(ctx context.Context, owner tenant.Tenant, ids []string) (map[string][]byte, error)
}

// Resends writes manual sends.
type Resends interface {
	// Reopen writes r if the delivery is still as r.Prior says;
	// ErrChanged otherwise.
	Reopen(ctx context.Context, r Reopen) error
	// Restore undoes r (its message could not be queued), unless an
	// attempt was made under its claim since.
	Restore(ctx context.Context, r Reopen) error
}

// Limiter counts manual sends.
type Limiter interface {
	// Take takes up to n sends for owner's webhook webhookID in the
	// minute of now: no more than SendsPerMinute for the webhook, nor
	// AccountSendsPerMinute for owner's webhooks together. It returns how
	// many it took and when that minute ends.
	Take(ctx context.Context, owner tenant.Tenant, webhookID string, n int, now time.Time) (taken int, resetAt time.Time, err error)
	// GiveBack returns n of the sends Take took at now for owner's
	// webhook webhookID, to the webhook's count and owner's: sends that
	// were not made after all. It returns them once, however often the
	// call is tried.
	GiveBack(ctx context.Context, owner tenant.Tenant, webhookID string, n int, now time.Time) error
}

// Idempotency runs acting requests once per Idempotency-Key
// (webhook.Service.Once).
type Idempotency interface {
	// Once runs run unless key was used before, and returns its result,
	// or the first result again (replayed).
	Once(ctx context.Context, owner tenant.Tenant, key, fingerprint string, run func() ([]byte, error)) (result []byte, replayed bool, err error)
}
