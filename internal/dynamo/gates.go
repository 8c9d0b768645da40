package dynamo

// Endpoint gates (delivery.Gates): one item per webhook, beside its
// deliveries (ENDPOINT#<id>, GATE), holding the attempts in progress, the
// attempts begun per second, the breaker's tallies per minute and its
// state. Each piece is an attribute of its own, so that an entry or exit
// is one UpdateItem with ADD and conditions, never a read-modify-write.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/awserr"
	"github.com/docproc/webhooks/internal/delivery"
)

// gateSK is the sort key of an endpoint's gate item.
const gateSK = "GATE"

// gateIdle is how long a gate item outlives its endpoint's last attempt.
const gateIdle = 24 * time.Hour

// Attribute name prefixes of a gate item.
const (
	firstHolder = "hf_" // + delivery id: a first attempt in progress, its lease's end in ms
	retryHolder = "hr_" // + delivery id: a retry in progress
	begunIn     = "s_"  // + Unix second: attempts begun in it
	triedIn     = "tn_" // + Unix minute: attempts made in it
	failedIn    = "tf_" // + Unix minute: of which failed
)

// holderAttr is the attribute of delivery id's slot.
func holderAttr(id string, h delivery.Holder) string {
	if h.Retry {
		return retryHolder + id
	}
	return firstHolder + id
}

// decodeGate reads a gate item.
func decodeGate(item map[string]types.AttributeValue) (delivery.Gate, error) {
	g := delivery.Gate{Holders: map[string]delivery.Holder{}, Begun: map[int64]int{}, Tallies: map[int64]delivery.Tally{}}
	for name, v := range item {
		n, isN := v.(*types.AttributeValueMemberN)
		var num int64
		if isN {
			var err error
			if num, err = strconv.ParseInt(n.Value, 10, 64); err != nil {
				return delivery.Gate{}, fmt.Errorf("decode gate attribute %s: %w", name, err)
			}
		}
		suffix := func(p string) (int64, bool) {
			k, err := strconv.ParseInt(strings.TrimPrefix(name, p), 10, 64)
			return k, err == nil
		}
		switch {
		case strings.HasPrefix(name, firstHolder):
			g.Holders[strings.TrimPrefix(name, firstHolder)] = delivery.Holder{Until: time.UnixMilli(num).UTC()}
		case strings.HasPrefix(name, retryHolder):
			g.Holders[strings.TrimPrefix(name, retryHolder)] = delivery.Holder{Until: time.UnixMilli(num).UTC(), Retry: true}
		case strings.HasPrefix(name, begunIn):
			if k, ok := suffix(begunIn); ok {
				g.Begun[k] = int(num)
			}
		case strings.HasPrefix(name, triedIn):
			if k, ok := suffix(triedIn); ok {
				t := g.Tallies[k]
				t.Attempts = int(num)
				g.Tallies[k] = t
			}
		case strings.HasPrefix(name, failedIn):
			if k, ok := suffix(failedIn); ok {
				t := g.Tallies[k]
				t.Failures = int(num)
				g.Tallies[k] = t
			}
		case name == "open_until_ms" && num > 0:
			g.OpenUntil = time.UnixMilli(num).UTC()
		case name == "trips":
			g.Trips = int(num)
		case name == "probe_until_ms":
			g.ProbeUntil = time.UnixMilli(num).UTC()
		case name == "probe":
			if s, ok := v.(*types.AttributeValueMemberS); ok {
				g.Probe = s.Value
			}
		}
	}
	return g, nil
}

// Gate implements delivery.History with one strongly consistent GetItem.
func (s *Store) Gate(ctx context.Context, webhookID string) (delivery.Gate, error) {
	item, err := s.getItem(ctx, "dynamodb GetItem gate of "+webhookID, key(endpointPK(webhookID), gateSK))
	if err != nil {
		return delivery.Gate{}, err
	}
	return decodeGate(item)
}

// gateExpr builds a gate item's UpdateExpression, its condition and
// their placeholders.
type gateExpr struct {
	sets, adds, removes, conds []string
	names                      map[string]string
	values                     map[string]types.AttributeValue
}

// newGateExpr returns an empty gateExpr.
func newGateExpr() *gateExpr {
	return &gateExpr{names: map[string]string{}, values: map[string]types.AttributeValue{}}
}

// name is the placeholder of attribute a.
func (x *gateExpr) name(a string) string {
	p := fmt.Sprintf("#a%d", len(x.names))
	for k, v := range x.names {
		if v == a {
			return k
		}
	}
	x.names[p] = a
	return p
}

// value is the placeholder of v.
func (x *gateExpr) value(v types.AttributeValue) string {
	p := fmt.Sprintf(":v%d", len(x.values))
	x.values[p] = v
	return p
}

// set sets attribute a to v.
func (x *gateExpr) set(a string, v types.AttributeValue) {
	x.sets = append(x.sets, x.name(a)+" = "+x.value(v))
}

// add adds n to attribute a; nothing when n is 0.
func (x *gateExpr) add(a string, n int64) {
	if n != 0 {
		x.adds = append(x.adds, x.name(a)+" "+x.value(number(n)))
	}
}

// remove removes attribute a.
func (x *gateExpr) remove(a string) { x.removes = append(x.removes, x.name(a)) }

// expression is the UpdateExpression: its SET, ADD and REMOVE clauses.
func (x *gateExpr) expression() string {
	var parts []string
	for _, c := range []struct {
		verb  string
		items []string
	}{{"SET", x.sets}, {"ADD", x.adds}, {"REMOVE", x.removes}} {
		if len(c.items) > 0 {
			parts = append(parts, c.verb+" "+strings.Join(c.items, ", "))
		}
	}
	return strings.Join(parts, " ")
}

// gateUpdate runs x on webhookID's gate item; a failed condition is
// delivery.ErrChanged.
func (s *Store) gateUpdate(ctx context.Context, op, webhookID string, x *gateExpr) error {
	in := &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(endpointPK(webhookID), gateSK),
		UpdateExpression:         aws.String(x.expression()),
		ExpressionAttributeNames: x.names,
	}
	if len(x.values) > 0 {
		in.ExpressionAttributeValues = x.values
	}
	if len(x.conds) > 0 {
		in.ConditionExpression = aws.String(strings.Join(x.conds, " AND "))
	}
	_, err := s.client.UpdateItem(ctx, in)
	if conditionFailed(err) {
		return fmt.Errorf("%s: %w", op, delivery.ErrChanged)
	}
	return awserr.Classify(op, err)
}

// Enter implements delivery.Gates with one UpdateItem: it adds e's slot
// and counts it, removes the expired holders and stale counts e names,
// conditional on the slots, the second's count and the breaker's state
// being what admitted e.
func (s *Store) Enter(ctx context.Context, e delivery.Entry) error {
	x := newGateExpr()
	own := holderAttr(e.DeliveryID, e.Holder)
	x.set(own, number(e.Holder.Until.UnixMilli()))
	x.set("type", &types.AttributeValueMemberS{Value: "gate"})
	x.set("expires_at", number(e.At.Add(gateIdle).Unix()))
	expired, expiredRetries := int64(0), int64(0)
	for id, h := range e.Expired {
		a := holderAttr(id, h)
		x.conds = append(x.conds, "attribute_exists("+x.name(a)+")")
		if a != own {
			x.remove(a)
		}
		expired++
		if h.Retry {
			expiredRetries++
		}
	}
	x.conds = append(x.conds, fmt.Sprintf("(attribute_not_exists(inflight) OR inflight < %s)",
		x.value(number(int64(e.Limits.Concurrency)+expired))))
	x.add("inflight", 1-expired)
	retry := int64(0)
	if e.Holder.Retry {
		retry = 1
		x.conds = append(x.conds, fmt.Sprintf("(attribute_not_exists(inflight_r) OR inflight_r < %s)",
			x.value(number(int64(max(1, e.Limits.Concurrency/2))+expiredRetries))))
	}
	x.add("inflight_r", retry-expiredRetries)
	sec := begunIn + strconv.FormatInt(e.At.Unix(), 10)
	x.adds = append(x.adds, x.name(sec)+" "+x.value(number(1)))
	if e.Limits.Rate > 0 {
		x.conds = append(x.conds, fmt.Sprintf("(attribute_not_exists(%s) OR %s < %s)", x.name(sec), x.name(sec),
			x.value(number(int64(e.Limits.Rate)))))
	}
	for _, k := range e.StaleSeconds {
		x.remove(begunIn + strconv.FormatInt(k, 10))
	}
	for _, k := range e.StaleMinutes {
		x.remove(triedIn + strconv.FormatInt(k, 10))
		x.remove(failedIn + strconv.FormatInt(k, 10))
	}
	zero := x.value(number(0))
	if e.Probe {
		now := x.value(number(e.At.UnixMilli()))
		x.set("probe", &types.AttributeValueMemberS{Value: e.DeliveryID})
		x.set("probe_until_ms", number(e.Holder.Until.UnixMilli()))
		x.conds = append(x.conds, fmt.Sprintf("open_until_ms > %s AND open_until_ms <= %s AND "+
			"(attribute_not_exists(probe_until_ms) OR probe_until_ms < %s OR probe = %s)",
			zero, now, now, x.value(&types.AttributeValueMemberS{Value: e.DeliveryID})))
	} else {
		x.conds = append(x.conds, fmt.Sprintf("(attribute_not_exists(open_until_ms) OR open_until_ms = %s)", zero))
	}
	return s.gateUpdate(ctx, "dynamodb UpdateItem enter the gate of "+e.WebhookID, e.WebhookID, x)
}

// Exit implements delivery.Gates: one UpdateItem gives the slot back,
// counts the attempt and applies the breaker's change, conditional on the
// slot still being held (and, for a probe, on its still being the probe;
// for a trip, on the breaker still being closed). When the condition
// fails, the slot was already taken back (its lease ended): the attempt is
// still counted, and a trip still applies if the breaker is closed.
func (s *Store) Exit(ctx context.Context, x delivery.Exit) error {
	op := "dynamodb UpdateItem exit the gate of " + x.WebhookID
	full := s.exitExpr(x, true)
	err := s.gateUpdate(ctx, op, x.WebhookID, full)
	if !errors.Is(err, delivery.ErrChanged) {
		return err
	}
	if x.Trip {
		err = s.gateUpdate(ctx, op, x.WebhookID, s.exitExpr(x, false))
		if !errors.Is(err, delivery.ErrChanged) {
			return err
		}
		x.Trip = false
	}
	x.Probe = false
	return s.gateUpdate(ctx, op, x.WebhookID, s.exitExpr(x, false))
}

// exitExpr is x's update; withSlot gives the slot back too (conditional
// on holding it).
func (s *Store) exitExpr(x delivery.Exit, withSlot bool) *gateExpr {
	e := newGateExpr()
	e.set("expires_at", number(x.At.Add(gateIdle).Unix()))
	if withSlot {
		a := holderAttr(x.DeliveryID, x.Holder)
		e.conds = append(e.conds, "attribute_exists("+e.name(a)+")")
		e.remove(a)
		e.add("inflight", -1)
		if x.Holder.Retry {
			e.add("inflight_r", -1)
		}
	}
	if x.Attempted {
		m := strconv.FormatInt(x.At.Unix()/60, 10)
		e.add(triedIn+m, 1)
		if x.Failed {
			e.add(failedIn+m, 1)
		}
	}
	switch {
	case x.Probe:
		e.set("open_until_ms", number(unixMilliOrZero(x.OpenUntil)))
		e.set("trips", number(int64(x.Trips)))
		e.remove("probe")
		e.remove("probe_until_ms")
		e.conds = append(e.conds, "probe = "+e.value(&types.AttributeValueMemberS{Value: x.DeliveryID}))
	case x.Trip:
		e.set("open_until_ms", number(x.OpenUntil.UnixMilli()))
		e.set("trips", number(int64(x.Trips)))
		e.conds = append(e.conds, fmt.Sprintf("(attribute_not_exists(open_until_ms) OR open_until_ms = %s)", e.value(number(0))))
	}
	return e
}

// unixMilliOrZero is t in Unix milliseconds, 0 for the zero time.
func unixMilliOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
