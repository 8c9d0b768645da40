// Package delivery is the domain of webhook delivery: from a platform
// event to signed POSTs to every endpoint that takes it, with the retries
// each endpoint's settings ask for, and what customers do with their
// deliveries afterwards.
//
// It runs four use cases, each a type: Fanout (the fan-out function),
// Deliverer (the delivery function), Sweeper (the sweeper function) and
// Manager (the API's delivery endpoints).
//
// What a delivery is:
//
//   - event.go: the published event (ParseEventBridge), its payload, built
//     once, and the ids: event ids made for events published without one,
//     and delivery ids (the webhook-id header), derived so that the same
//     event and endpoint always get the same one.
//   - message.go: Message, one delivery queued for one endpoint.
//   - status.go: a delivery's State and its stored Status.
//   - attempt.go: a request (Request), its response (Response), the
//     error classes, and the attempt record (Attempt).
//   - record.go: what one step of a delivery reads (Target) and writes
//     (Begin, Record, HealthChange, Record.ApplyHealth), and how long
//     records are kept (DefaultRetention).
//   - notice.go: the operational notices (Notice) a delivery's outcome
//     owes the platform.
//   - errors.go: ErrChanged and ErrNotFound, which the store ports return,
//     and the errors customers see.
//
// The use cases:
//
//   - fanout.go: Fanout, which queues one message per endpoint.
//   - deliver.go: Deliverer, which makes the next attempt of a message:
//     whether its receipt owns the delivery (owns), whether an attempt is
//     due (settle), then the attempt, recorded with the delivery's state
//     and the endpoint's health in one write (post).
//   - judge.go: what an attempt's response means (Judge), and for the
//     delivery and its endpoint: the reasons a delivery ends, the rule
//     that disables a failing endpoint, attempt limits, and the next
//     attempt's time.
//   - gate.go: an endpoint's gate (Gate), which admits its attempts: its
//     concurrency, its rate limit and its circuit breaker.
//   - hold.go: what the deliverer does with a delivery the gate holds
//     back, and the holds it remembers.
//   - sign.go: Standard Webhooks signatures (Keys.Sign), one per secret
//     still in use; signingkeys.go: the deliverer's cache of them.
//   - schedule.go: the waits between attempts (Schedule), with jitter,
//     Retry-After and a horizon.
//   - park.go: how a delivery waits for its next attempt without holding
//     a message in flight (Parked, ParkingShard).
//   - sweep.go: Sweeper, which queues again the parked deliveries that
//     are due.
//   - manager.go: Manager, what customers do with their deliveries, one
//     file each: list.go (List, Get, Latest, Breaker), retry.go (Retry),
//     recover.go (Recover), testevent.go (Test, TestEvent); send.go is how
//     each of them sends (plan, rate limit, the concurrent writes and
//     their undo), and once.go runs them once per idempotency key.
//
// ports.go holds every port, grouped by the use case that needs it:
//
//   - the fan-out's Subscribers, EventLog and Queue;
//   - the deliverer's Store, Gates, Secrets, Sender and Notifier (and
//     Queue and Parking);
//   - the sweeper's Parking (and Queue);
//   - the manager's Endpoints, History, Resends, Limiter and Idempotency
//     (and EventLog and Queue).
//
// The dynamo package implements Store, Gates, Parking, Subscribers,
// EventLog, History, Resends and Limiter; queue implements Queue, secrets
// Secrets, sender Sender, and bus Notifier; webhook.Service is the
// Manager's Endpoints and Idempotency.
package delivery
