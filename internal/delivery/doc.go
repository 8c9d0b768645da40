// Package delivery is the domain of webhook delivery: from a platform
// event to signed POSTs to every endpoint that takes it, with the retries
// each endpoint's settings ask for.
//
//   - event.go: the published event (ParseEventBridge), its payload, built
//     once, and the ids: event ids made for events published without one,
//     and delivery ids (the webhook-id header), derived so that the same
//     event and endpoint always get the same one.
//   - sign.go: Standard Webhooks signatures (Keys.Sign), one per secret
//     still in use.
//   - schedule.go: the waits between attempts (Schedule), with jitter,
//     Retry-After and the SQS visibility cap.
//   - attempt.go: a request, its response, what it means (Judge), the
//     delivery's states and the attempt record.
//   - fanout.go: Fanout, which queues one message per endpoint.
//   - deliver.go: Deliverer, which makes the next attempt of a message:
//     it reads the endpoint as it is now, skips a delivery that was made
//     or that the endpoint no longer takes, signs with cached keys, judges
//     the response, and records the attempt, the delivery's state and the
//     endpoint's health in one write.
//   - ports.go: what the domain needs (Store, EventLog, Subscribers,
//     Queue, Secrets, Sender), which the dynamo, queue, secrets and sender
//     packages implement.
package delivery
