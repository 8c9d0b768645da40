package dynamo

// The helpers every entity's code uses: the primary keys shared by
// several kinds of item, attribute values, time stamps and write tokens.

import (
	"crypto/rand"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/tenant"
)

// The names of the table's key attributes; template.yaml declares the
// same.
const (
	attrPK = "pk"
	attrSK = "sk"
)

// key builds a primary key.
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: pk},
		attrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

// tenantPK returns a tenant's partition key: its webhooks, their count,
// its idempotency records and its manual sends' counts live there.
func tenantPK(t tenant.Tenant) string { return "ACCOUNT#" + t.Account + "#" + string(t.Mode) }

// webhookSK returns the sort key of a webhook.
func webhookSK(id string) string { return "WEBHOOK#" + id }

// endpointPK is the partition of one webhook's deliveries, their
// attempts, its gate and its manual sends' counts.
func endpointPK(webhookID string) string { return "ENDPOINT#" + webhookID }

// deliverySK is a delivery's sort key. Delivery ids are ULIDs of the
// event's time, so a Query of begins_with DELIVERY#, descending, lists a
// webhook's deliveries newest first.
func deliverySK(id string) string { return "DELIVERY#" + id }

// number is a DynamoDB number attribute.
func number(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// attrS returns the string attribute name of item, or "".
func attrS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// stamp formats a time as delivery, attempt and event items store it;
// "" for the zero time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// parseStamp reads a time that stamp wrote; the zero time for "".
func parseStamp(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// expired reports whether an item's TTL, expiresAt (Unix seconds), has
// passed at now: DynamoDB removes expired items lazily, so one may still
// be read.
func expired(expiresAt int64, now time.Time) bool { return expiresAt < now.Unix() }

// newToken returns a random token that identifies one write, for
// ClientRequestToken and for recognising the write's own earlier success.
func newToken() string { return rand.Text() }

// writeToken is the attribute in which a conditional write of a webhook,
// a delivery or (by a delete) a secret check leaves its token. When a
// retry of the write fails its condition, the token read back tells
// whether it was the write's own first try that changed the item (its
// answer lost) rather than another request.
const writeToken = "write_token"
