// Package dynamo keeps the service's items in one DynamoDB table: API key
// records (apikeys.go), webhooks and their version-conditional writes
// (webhooks.go), the per-owner count kept exact by the create and delete
// transactions (counters.go), the rotation lock (rotation.go), idempotency
// records (idempotency.go), the janitor's secret checks and checkpoint
// (checks.go), the event log and the deliverer's writes (deliveries.go),
// the reads of deliveries and events (history.go), manual sends
// (resends.go) and their rate limit (limits.go). store.go has the Store
// and the table's names.
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
//	manual sends     pk = ENDPOINT#<webhook id>        sk = SENDS#<unix minute>
//	  of an account  pk = ACCOUNT#<account>#<mode>     sk = SENDS#<unix minute>
//
// Two sparse global secondary indexes:
//
//	by-account      gsi1pk = ACCOUNT#<account>                        gsi1sk = APIKEY#<created>#<hash>
//	events-by-time  events_pk = EVENTS#<account>#<mode>#<yyyy-mm-dd>  events_sk = <time>#<id>
//
// by-account holds API keys, whole (projection ALL). events-by-time holds
// the events that are not tests, a partition per UTC day, without their
// payloads (projection INCLUDE event_id, event_type, time, expires_at).
//
// Items never hold a raw API key or a signing secret.
package dynamo

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/apikey"
	"github.com/docproc/webhooks/internal/awsconf"
	"github.com/docproc/webhooks/internal/janitor"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// Compile-time checks that Store implements the domain's ports.
var (
	_ webhook.Store    = (*Store)(nil)
	_ apikey.Store     = (*Store)(nil)
	_ webhook.KeyStore = (*Store)(nil)
	_ janitor.Webhooks = (*Store)(nil)
	_ janitor.Checks   = (*Store)(nil)
)

// The names of the table's key attributes and of its indexes;
// template.yaml declares the same.
const (
	attrPK = "pk"
	attrSK = "sk"
	// indexByAccount is the sparse global secondary index that lists an
	// account's API keys (gsi1pk = ACCOUNT#<account>, gsi1sk = APIKEY#<created>#<hash>).
	indexByAccount = "by-account"
	// indexEventsByTime is the sparse global secondary index that lists
	// an owner's events (not tests) by time, a partition per UTC day
	// (events_pk = EVENTS#<account>#<mode>#<yyyy-mm-dd>, events_sk =
	// <time>#<id>). It projects what Events returns: no payload.
	indexEventsByTime = "events-by-time"
	attrEventsPK      = "events_pk"
	attrEventsSK      = "events_sk"
)

// Store is the DynamoDB adapter.
type Store struct {
	client *dynamodb.Client
	table  string
	// maxExamined is the most delivery items one Deliveries call looks
	// at: the constant maxExamined, lower in tests.
	maxExamined int
}

// NewClient returns a DynamoDB client for cfg. Against a custom endpoint
// (an emulator) it skips the CRC32 check of responses, which kumo does not
// compute; against AWS the check stays on.
func NewClient(cfg aws.Config) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.DisableValidateResponseChecksum = awsconf.CustomEndpoint(cfg)
	})
}

// New returns a Store over table.
func New(client *dynamodb.Client, table string) *Store {
	return &Store{client: client, table: table, maxExamined: maxExamined}
}

// tenantPK returns the partition key under which a tenant's webhooks live.
func tenantPK(t tenant.Tenant) string { return "ACCOUNT#" + t.Account + "#" + string(t.Mode) }

// webhookSK returns the sort key of a webhook.
func webhookSK(id string) string { return "WEBHOOK#" + id }

// key builds a primary key.
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: pk},
		attrSK: &types.AttributeValueMemberS{Value: sk},
	}
}
