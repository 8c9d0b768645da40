package sim

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// The service's DynamoDB table as the delivery function and the sweeper
// use it: webhooks with their health, one gate item per endpoint, one
// item per delivery, and the deliveries-due index. Each method is the
// adapter's (internal/dynamo) call: the same conditions, ErrChanged when
// one fails, and the same number of calls, each taking its latency, with
// its effect at its end. It counts the calls and their request units from
// the items' sizes: the delivery and attempt items as measured
// (docs/performance.md, "Storage"), the gate item from its attributes.

// Item sizes, in bytes.
const (
	// deliveryItemBytes and attemptItemBytes are the typical delivery
	// and attempt items measured by `go run ./cmd/bench -only storage`
	// (2026-12-01).
	deliveryItemBytes = 579
	attemptItemBytes  = 378
	// webhookItemBytes is a webhook item: not measured; its URL, events,
	// secret reference and settings stay under 1 KB unless its URL is
	// long.
	webhookItemBytes = 1000
	// dueEntryBytes is a delivery's entry in the deliveries-due index:
	// its keys and the message's attributes (not measured).
	dueEntryBytes = 300
	// eventItemBytes is the typical event item (measured as above).
	eventItemBytes = 1542
)

// Gate item attribute sizes (name and value), from internal/dynamo's
// gates.go: a holder is hf_ or hr_ and the delivery id with a
// millisecond time; a second's count s_ and a Unix second; a minute's
// tallies tn_ and tf_ and a Unix minute; the rest (keys, type, expiry,
// counts, breaker state) about 150 bytes.
const (
	gateBaseBytes   = 150
	gateHolderBytes = 41
	gateSecondBytes = 14
	gateMinuteBytes = 26
)

// table is the simulated table. It implements delivery.Store,
// delivery.Gates and delivery.Parking.
type table struct {
	lat Latencies
	// gated is false when the gates are switched off: no gate item is
	// read or written, so every attempt goes, and no breaker trips.
	gated bool

	mu         sync.Mutex
	hooks      map[string]*webhook.Webhook
	gates      map[string]*delivery.Gate
	deliveries map[string]delivery.Status
	parked     [delivery.ParkingShards]map[string]delivery.Parked
	payload    []byte
	calls      *Calls
}

// Compile-time checks that the simulated table is the delivery ports.
var (
	_ delivery.Store   = (*table)(nil)
	_ delivery.Gates   = (*table)(nil)
	_ delivery.Parking = (*table)(nil)
)

// newTable returns a table of hooks whose every event has payload.
func newTable(lat Latencies, gated bool, hooks []*webhook.Webhook, payload []byte, calls *Calls) *table {
	t := &table{lat: lat, gated: gated, hooks: map[string]*webhook.Webhook{}, gates: map[string]*delivery.Gate{},
		deliveries: map[string]delivery.Status{}, payload: payload, calls: calls}
	for _, w := range hooks {
		t.hooks[w.ID] = w
	}
	for i := range t.parked {
		t.parked[i] = map[string]delivery.Parked{}
	}
	return t
}

// Target reads the webhook, its gate and the delivery in one strongly
// consistent BatchGetItem: a request unit per item, found or not.
func (t *table) Target(ctx context.Context, owner tenant.Tenant, webhookID, deliveryID string) (delivery.Target, error) {
	wait(ctx, t.lat.Read)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls.DynamoDB.BatchGetItem++
	t.calls.DynamoDB.RRU += 2
	var out delivery.Target
	if w, ok := t.hooks[webhookID]; ok && w.Owner == owner {
		out.Found, out.Webhook = true, *w
	}
	if t.gated {
		t.calls.DynamoDB.RRU++
		if g := t.gates[webhookID]; g != nil {
			out.Gate = *g
			out.Gate.Holders, out.Gate.Begun, out.Gate.Tallies = maps.Clone(g.Holders), maps.Clone(g.Begun), maps.Clone(g.Tallies)
		}
	}
	out.Delivery = t.deliveries[deliveryID]
	out.Delivery.ResendAt = t.parked[delivery.ParkingShard(deliveryID)][deliveryID].ResendAt
	return out, nil
}

// Begin takes an attempt with one conditional UpdateItem of the delivery
// item.
func (t *table) Begin(ctx context.Context, b delivery.Begin) error {
	wait(ctx, t.lat.Write)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls.DynamoDB.UpdateItem++
	t.calls.DynamoDB.WRU += writeUnits(deliveryItemBytes)
	d, ok := t.deliveries[b.Message.DeliveryID]
	if d.Begun == b.Number && d.BegunAt.Equal(b.At) && d.Claim == b.Claim {
		return nil
	}
	owned := d.Claim == b.Claim || b.At.After(d.ClaimedUntil)
	if (!ok && b.Prior != 0) || (ok && (!owned || d.Attempts != b.Prior || d.State != delivery.StatePending || d.Begun > d.Attempts)) {
		return delivery.ErrChanged
	}
	if !ok {
		d = delivery.Status{Exists: true, State: delivery.StatePending}
	}
	d.Claim, d.ClaimedUntil = b.Claim, b.ClaimedUntil
	d.Begun, d.BegunAt, d.BegunUntil = b.Number, b.At, b.Until
	t.deliveries[b.Message.DeliveryID] = d
	return nil
}

// Save writes a step in one TransactWriteItems: the delivery, the attempt
// (when one was made) and the webhook's health (when it changes), 2 write
// units a KB each, and the deliveries-due entry it adds, moves or
// removes, a standard write each. A failed condition is read back with a
// GetItem, as the adapter does.
func (t *table) Save(ctx context.Context, r delivery.Record) (bool, error) {
	wait(ctx, t.lat.Transaction)
	t.mu.Lock()
	defer t.mu.Unlock()
	db := &t.calls.DynamoDB
	db.TransactWriteItems++
	db.WRU += 2 * writeUnits(deliveryItemBytes)
	if r.Attempt != nil {
		db.WRU += 2 * writeUnits(attemptItemBytes)
	}
	if r.Health != delivery.NoChange {
		db.WRU += 2 * writeUnits(webhookItemBytes)
	}
	d, ok := t.deliveries[r.Message.DeliveryID]
	owned := d.Claim == r.Claim || r.At.After(d.ClaimedUntil)
	begun := d.Begun == r.Attempts
	if r.Attempt == nil {
		begun = !d.InProgress(r.At)
	}
	if (!ok && r.Prior != 0) || (ok && (!owned || d.Attempts != r.Prior || d.State != delivery.StatePending || !begun)) {
		db.GetItem++
		db.RRU++
		return false, delivery.ErrChanged
	}
	notify := r.Notify
	w := t.hooks[r.Message.WebhookID]
	if r.Health == delivery.Disable && (w == nil || w.Version != r.WebhookVersion) {
		r.Health, notify = delivery.NoChange, false
	}
	t.deliveries[r.Message.DeliveryID] = delivery.Status{Exists: true, State: r.State, Attempts: r.Attempts, Claim: r.Claim,
		ClaimedUntil: r.ClaimedUntil, NextAttemptAt: r.NextAttemptAt, AttemptLimit: d.AttemptLimit, Reason: r.Reason,
		NoticePending: notify, UpdatedAt: r.At, Begun: d.Begun, BegunAt: d.BegunAt, BegunUntil: d.BegunUntil}
	shard := t.parked[delivery.ParkingShard(r.Message.DeliveryID)]
	_, wasParked := shard[r.Message.DeliveryID]
	delete(shard, r.Message.DeliveryID)
	switch {
	case r.State == delivery.StatePending && !r.ResendAt.IsZero():
		m := r.Message
		m.Claim, m.Payload = r.Claim, nil
		shard[m.DeliveryID] = delivery.Parked{Message: m, Attempts: r.Attempts, NextAttemptAt: r.NextAttemptAt, ResendAt: r.ResendAt}
		db.WRU += indexWrites(wasParked, true)
	default:
		db.WRU += indexWrites(wasParked, false)
	}
	if w != nil {
		r.ApplyHealth(w)
	}
	return notify, nil
}

// NoticeSent clears a pending notice with one UpdateItem.
func (t *table) NoticeSent(ctx context.Context, _, deliveryID string, attempts int) error {
	wait(ctx, t.lat.Write)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls.DynamoDB.UpdateItem++
	t.calls.DynamoDB.WRU += writeUnits(deliveryItemBytes)
	if d := t.deliveries[deliveryID]; d.Attempts == attempts {
		d.NoticePending = false
		t.deliveries[deliveryID] = d
	}
	return nil
}

// Enter admits an attempt with one conditional UpdateItem of the gate
// item; with the gates off it writes nothing.
func (t *table) Enter(ctx context.Context, e delivery.Entry) error {
	if !t.gated {
		return nil
	}
	wait(ctx, t.lat.Write)
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.gates[e.WebhookID]
	if g == nil {
		g = &delivery.Gate{Holders: map[string]delivery.Holder{}, Begun: map[int64]int{}, Tallies: map[int64]delivery.Tally{}}
		t.gates[e.WebhookID] = g
	}
	t.calls.DynamoDB.UpdateItem++
	defer func() { t.calls.DynamoDB.WRU += writeUnits(gateItemBytes(g)) }()
	return g.Admit(e)
}

// Exit gives a slot back and counts the attempt as the adapter does: one
// UpdateItem conditional on the slot (and on the probe, or on a closed
// breaker for a trip); when that fails, the slot was taken back already,
// and the attempt is counted without it (a trip first, if the breaker is
// still closed). With the gates off it writes nothing.
func (t *table) Exit(ctx context.Context, x delivery.Exit) error {
	if !t.gated {
		return nil
	}
	wait(ctx, t.lat.Write)
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.gates[x.WebhookID]
	if g == nil {
		g = &delivery.Gate{Holders: map[string]delivery.Holder{}, Begun: map[int64]int{}, Tallies: map[int64]delivery.Tally{}}
		t.gates[x.WebhookID] = g
	}
	if t.exit(g, x, true) {
		return nil
	}
	if x.Trip {
		if t.exit(g, x, false) {
			return nil
		}
		x.Trip = false
	}
	x.Probe = false
	t.exit(g, x, false)
	return nil
}

// exit is one UpdateItem of Exit: it applies x to g if its condition
// holds. t.mu is held.
func (t *table) exit(g *delivery.Gate, x delivery.Exit, withSlot bool) bool {
	t.calls.DynamoDB.UpdateItem++
	defer func() { t.calls.DynamoDB.WRU += writeUnits(gateItemBytes(g)) }()
	if h, ok := g.Holders[x.DeliveryID]; withSlot && (!ok || h.Retry != x.Holder.Retry) {
		return false
	}
	switch {
	case x.Probe && g.Probe != x.DeliveryID, x.Trip && !g.OpenUntil.IsZero():
		return false
	}
	if withSlot {
		delete(g.Holders, x.DeliveryID)
	}
	if x.Attempted {
		m := x.At.Unix() / 60
		tally := g.Tallies[m]
		tally.Attempts++
		if x.Failed {
			tally.Failures++
		}
		g.Tallies[m] = tally
	}
	switch {
	case x.Probe:
		g.OpenUntil, g.Trips, g.Probe, g.ProbeUntil = x.OpenUntil, x.Trips, "", time.Time{}
	case x.Trip:
		g.OpenUntil, g.Trips = x.OpenUntil, x.Trips
	}
	return true
}

// Due lists a shard's parked deliveries due by before with one Query of
// the deliveries-due index (eventually consistent: half a unit per 4 KB
// read).
func (t *table) Due(ctx context.Context, shard int, before time.Time, limit int) ([]delivery.Parked, error) {
	wait(ctx, t.lat.Read)
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []delivery.Parked
	for _, p := range t.parked[shard] {
		if !p.ResendAt.After(before) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b delivery.Parked) int {
		return cmp.Or(a.ResendAt.Compare(b.ResendAt), cmp.Compare(a.Message.DeliveryID, b.Message.DeliveryID))
	})
	out = out[:min(limit, len(out))]
	t.calls.DynamoDB.Query++
	t.calls.DynamoDB.RRU += 0.5 * float64(max(1, readUnits(len(out)*dueEntryBytes)))
	return out, nil
}

// Requeued moves a parked delivery's ResendAt with one conditional
// UpdateItem, and its deliveries-due entry with it.
func (t *table) Requeued(ctx context.Context, p delivery.Parked, resendAt time.Time) error {
	wait(ctx, t.lat.Write)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls.DynamoDB.UpdateItem++
	t.calls.DynamoDB.WRU += writeUnits(deliveryItemBytes)
	shard := t.parked[delivery.ParkingShard(p.Message.DeliveryID)]
	cur, ok := shard[p.Message.DeliveryID]
	if !ok || cur.Attempts != p.Attempts || !cur.ResendAt.Equal(p.ResendAt) {
		return nil
	}
	if resendAt.IsZero() {
		delete(shard, p.Message.DeliveryID)
		t.calls.DynamoDB.WRU += indexWrites(true, false)
		return nil
	}
	cur.ResendAt = resendAt
	shard[p.Message.DeliveryID] = cur
	t.calls.DynamoDB.WRU += indexWrites(true, true)
	return nil
}

// Payloads reads events' payloads with strongly consistent BatchGetItems
// of up to 100 keys. Every event of the simulation is kept.
func (t *table) Payloads(ctx context.Context, _ tenant.Tenant, ids []string) (map[string][]byte, error) {
	wait(ctx, t.lat.Read)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls.DynamoDB.BatchGetItem += (len(ids) + 99) / 100
	t.calls.DynamoDB.RRU += float64(len(ids) * readUnits(eventItemBytes))
	out := make(map[string][]byte, len(ids))
	for _, id := range ids {
		out[id] = t.payload
	}
	return out, nil
}

// writeUnits is the standard write units of an item of n bytes.
func writeUnits(n int) float64 { return float64((n + 1023) / 1024) }

// readUnits is the strongly consistent read units of n bytes.
func readUnits(n int) int { return (n + 4095) / 4096 }

// indexWrites is the write units of a deliveries-due entry, from whether
// the delivery had one (was) to whether it has one (is): a new or removed
// entry is one write, a moved one (its key changes) a removal and a put.
func indexWrites(was, is bool) float64 {
	switch {
	case was && is:
		return 2 * writeUnits(dueEntryBytes)
	case was || is:
		return writeUnits(dueEntryBytes)
	}
	return 0
}

// gateItemBytes estimates the size of g's item.
func gateItemBytes(g *delivery.Gate) int {
	return gateBaseBytes + gateHolderBytes*len(g.Holders) + gateSecondBytes*len(g.Begun) + gateMinuteBytes*len(g.Tallies)
}
