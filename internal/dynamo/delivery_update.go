package dynamo

// The builder of a delivery item's UpdateExpression, which the
// deliverer's writes and the manual sends share.

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/delivery"
)

// deliveryNames are the placeholders of a delivery item's attribute names
// that are reserved words.
func deliveryNames() map[string]string {
	return map[string]string{"#type": "type", "#mode": "mode", "#state": "state"}
}

// update builds an UpdateExpression of SET and REMOVE clauses. An
// attribute "name" (or "#name") is set from the value ":name".
type update struct {
	sets, remove []string
	values       map[string]types.AttributeValue
}

// newUpdate returns an empty update.
func newUpdate() *update { return &update{values: map[string]types.AttributeValue{}} }

// placeholder is the value placeholder of attribute name.
func placeholder(name string) string { return ":" + strings.TrimPrefix(name, "#") }

// set sets name to v.
func (u *update) set(name string, v types.AttributeValue) {
	u.sets = append(u.sets, name+" = "+placeholder(name))
	u.values[placeholder(name)] = v
}

// setExpr adds a SET clause as written; its values are the caller's.
func (u *update) setExpr(clause string) { u.sets = append(u.sets, clause) }

// setNew sets name to v unless the item has it already.
func (u *update) setNew(name string, v types.AttributeValue) {
	u.sets = append(u.sets, fmt.Sprintf("%s = if_not_exists(%s, %s)", name, name, placeholder(name)))
	u.values[placeholder(name)] = v
}

// optional sets name to value, or removes it when value is "".
func (u *update) optional(name, value string) {
	if value == "" {
		u.remove = append(u.remove, name)
		return
	}
	u.set(name, &types.AttributeValueMemberS{Value: value})
}

// optionalN sets name to n, or removes it when n is 0.
func (u *update) optionalN(name string, n int) {
	if n == 0 {
		u.remove = append(u.remove, name)
		return
	}
	u.set(name, number(int64(n)))
}

// message sets the attributes a delivery item takes from its message;
// only where the item has none when onlyNew, but for its series' start,
// which is always the message's.
func (u *update) message(m delivery.Message, onlyNew bool) {
	set := u.set
	if onlyNew {
		set = u.setNew
	}
	for _, a := range []struct {
		name string
		v    types.AttributeValue
	}{
		{"#type", &types.AttributeValueMemberS{Value: "delivery"}},
		{"delivery_id", &types.AttributeValueMemberS{Value: m.DeliveryID}},
		{"event_id", &types.AttributeValueMemberS{Value: m.EventID}},
		{"event_type", &types.AttributeValueMemberS{Value: string(m.EventType)}},
		{"event_time", &types.AttributeValueMemberS{Value: stamp(m.EventTime)}},
		{"webhook_id", &types.AttributeValueMemberS{Value: m.WebhookID}},
		{"account", &types.AttributeValueMemberS{Value: m.Account}},
		{"#mode", &types.AttributeValueMemberS{Value: string(m.Mode)}},
		{"test", &types.AttributeValueMemberBOOL{Value: m.Test}},
	} {
		set(a.name, a.v)
	}
	// Always the message's: a manual send starts a new series over an
	// existing delivery, and the sweeper rebuilds its message from it.
	u.set("series_start", &types.AttributeValueMemberS{Value: stamp(cmp.Or(m.SeriesStart, m.EventTime))})
}

// claimed sets what a write that claims m's delivery item under claim
// sets: where the item has none, m's attributes, no attempts and its
// creation at at; and the claim until claimedUntil, updated_at (at),
// expires_at and the write's token.
func (u *update) claimed(m delivery.Message, claim string, claimedUntil, at, expires time.Time, token string) {
	u.message(m, true)
	u.setNew("attempts", number(0))
	u.setNew("created_at", &types.AttributeValueMemberS{Value: stamp(at)})
	u.set("claim", &types.AttributeValueMemberS{Value: claim})
	u.set("claimed_until_ms", number(claimedUntil.UnixMilli()))
	u.set("updated_at", &types.AttributeValueMemberS{Value: stamp(at)})
	u.set("expires_at", number(expires.Unix()))
	u.set(writeToken, &types.AttributeValueMemberS{Value: token})
}

// expression is the UpdateExpression.
func (u *update) expression() string {
	expr := "SET " + strings.Join(u.sets, ", ")
	if len(u.remove) > 0 {
		expr += " REMOVE " + strings.Join(u.remove, ", ")
	}
	return expr
}

// withZero adds :zero to values.
func withZero(values map[string]types.AttributeValue) map[string]types.AttributeValue {
	values[":zero"] = number(0)
	return values
}
