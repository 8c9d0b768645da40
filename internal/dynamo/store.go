package dynamo

// The Store, its client and the ports it implements.

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/docproc/webhooks/internal/apikey"
	"github.com/docproc/webhooks/internal/awsconf"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/janitor"
	"github.com/docproc/webhooks/internal/webhook"
)

// Compile-time checks that Store implements the domain's ports.
var (
	_ webhook.Store    = (*Store)(nil)
	_ apikey.Store     = (*Store)(nil)
	_ webhook.KeyStore = (*Store)(nil)
	_ janitor.Webhooks = (*Store)(nil)
	_ janitor.Checks   = (*Store)(nil)

	_ delivery.Subscribers = (*Store)(nil)
	_ delivery.EventLog    = (*Store)(nil)
	_ delivery.Store       = (*Store)(nil)
	_ delivery.Gates       = (*Store)(nil)
	_ delivery.Parking     = (*Store)(nil)
	_ delivery.History     = (*Store)(nil)
	_ delivery.Resends     = (*Store)(nil)
	_ delivery.Limiter     = (*Store)(nil)
)

// Store is the DynamoDB adapter: it implements the domain's storage ports
// over one table.
type Store struct {
	client *dynamodb.Client
	table  string
	// maxExamined is the most delivery items one Deliveries call looks
	// at: the constant maxExamined, lower in tests.
	maxExamined int
	// now is the clock that tells which items have expired (their TTL
	// passed, but DynamoDB has not yet removed them) and which days of
	// events Events looks at: time.Now, set otherwise in tests.
	now func() time.Time
}

// NewClient returns a DynamoDB client for cfg. Against a custom endpoint
// (an emulator) it skips the CRC32 check of responses, which kumo does not
// compute; against AWS the check stays on.
func NewClient(cfg aws.Config) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.DisableValidateResponseChecksum = awsconf.CustomEndpoint(cfg)
	})
}

// New returns a Store over table, with the machine's clock.
func New(client *dynamodb.Client, table string) *Store {
	return &Store{client: client, table: table, maxExamined: maxExamined, now: time.Now}
}
