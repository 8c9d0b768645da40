// Package dynamo keeps the service's items in one DynamoDB table. Its
// Store implements the domain's storage ports (see store.go), a file per
// kind of item:
//
//	apikeys.go         API key records
//	webhooks.go        webhooks: their encoding and reads
//	webhook_writes.go  the create and delete transactions, which keep each
//	                   owner's webhook count exact, and the
//	                   version-conditional update
//	rotation.go        the rotation lock on a webhook
//	idempotency.go     idempotency records
//	checks.go          the janitor's secret checks and its checkpoint
//	events.go          the event log and the reads of events
//	deliveries.go      a delivery's state: the deliverer's reads and writes
//	delivery_update.go the UpdateExpression of a delivery item
//	attempts.go        the record of each attempt
//	health.go          the webhook health the deliverer writes
//	history.go         the reads of deliveries for the API
//	gates.go           an endpoint's gate: attempts in progress, rate, breaker
//	parking.go         the deliveries-due index, which queues messages again
//	resends.go         manual sends
//	limits.go          the rate limit of manual sends
//
// items.go holds the keys and attribute helpers every kind of item uses,
// and calls.go the calls several share: the consistent read of one item,
// the paged Query, the batched read and the transaction (each with its
// tries), and the test for a failed condition.
//
// Key design (single table):
//
//	API key          pk = APIKEY#<sha256 hex>          sk = APIKEY
//	webhook          pk = ACCOUNT#<account>#<mode>     sk = WEBHOOK#<id>
//	webhook count    pk = ACCOUNT#<account>#<mode>     sk = COUNTER
//	idempotency key  pk = ACCOUNT#<account>#<mode>     sk = IDEMPOTENCY#<sha256 hex of the key>
//	secret check     pk = CHECK#<yyyy-mm-ddThh>        sk = <orphan|prune>#<webhook id>
//	checkpoint       pk = CHECK#CHECKPOINT             sk = CHECKPOINT
//	event            pk = EVENT#<account>#<mode>#<id>  sk = EVENT
//	delivery         pk = ENDPOINT#<webhook id>        sk = DELIVERY#<delivery id>
//	attempt          pk = ENDPOINT#<webhook id>        sk = ATTEMPT#<delivery id>#<nnn>
//	gate             pk = ENDPOINT#<webhook id>        sk = GATE
//	manual sends     pk = ENDPOINT#<webhook id>        sk = SENDS#<unix minute>
//	  of an account  pk = ACCOUNT#<account>#<mode>     sk = SENDS#<unix minute>
//
// Three sparse global secondary indexes:
//
//	by-account      gsi1pk = ACCOUNT#<account>                        gsi1sk = APIKEY#<created>#<hash>
//	events-by-time  events_pk = EVENTS#<account>#<mode>#<yyyy-mm-dd>  events_sk = <time>#<id>
//	deliveries-due  resend_shard = PARK#<nn>                          resend_at = <time>#<delivery id>
//
// by-account holds API keys, whole (projection ALL). events-by-time holds
// the events that are not tests, a partition per UTC day, without their
// payloads (projection INCLUDE event_id, event_type, time, expires_at).
// deliveries-due holds the pending deliveries whose message is to be
// queued again, a partition per parking shard (projection INCLUDE
// DueAttributes).
//
// Items never hold a raw API key or a signing secret.
package dynamo
