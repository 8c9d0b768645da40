package deliverytest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// The subtests of RunConformanceTests, one promise of the ports each.

func testKeep(t *testing.T, f *suite) {
	ev := f.event(1)
	if first, err := f.Keep(f.ctx, ev, f.now.Add(time.Hour)); err != nil || first != ev.SourceID {
		t.Fatalf("first Keep = %q, %v; want %q", first, err, ev.SourceID)
	}
	again := ev
	again.SourceID, again.Payload = "src-other", []byte(`{"other":true}`)
	if first, err := f.Keep(f.ctx, again, f.now.Add(time.Hour)); err != nil || first != ev.SourceID {
		t.Fatalf("second publish: Keep = %q, %v; want the first's %q", first, err, ev.SourceID)
	}
	got, err := f.Event(f.ctx, owner, ev.ID)
	if err != nil || got.SourceID != ev.SourceID || string(got.Payload) != string(ev.Payload) || !got.Time.Equal(ev.Time) {
		t.Fatalf("Event = %+v, %v; want the first publish", got, err)
	}
	if _, err := f.Event(f.ctx, owner, "evt_missing"); !errors.Is(err, delivery.ErrNotFound) {
		t.Errorf("Event of an unknown id: %v, want ErrNotFound", err)
	}
	other := tenant.Tenant{Account: owner.Account, Mode: tenant.Live}
	if _, err := f.Event(f.ctx, other, ev.ID); !errors.Is(err, delivery.ErrNotFound) {
		t.Errorf("Event of another Owner: %v, want ErrNotFound", err)
	}
	payloads, err := f.Payloads(f.ctx, owner, []string{ev.ID, "evt_missing"})
	if err != nil || len(payloads) != 1 || string(payloads[ev.ID]) != string(ev.Payload) {
		t.Errorf("Payloads = %q, %v; want only %s's", payloads, err, ev.ID)
	}
}

func testEvents(t *testing.T, f *suite) {
	for n := 1; n <= 3; n++ {
		if _, err := f.Keep(f.ctx, f.event(n), f.now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	test := f.event(4)
	test.Test = true
	if _, err := f.Keep(f.ctx, test, f.now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	since, until := f.now.Add(-time.Hour), f.now
	evs, more, err := f.Events(f.ctx, owner, since, until, "", 2)
	if err != nil || !more || ids(evs) != "evt_003,evt_002" {
		t.Fatalf("first page: %s more=%v, %v; want evt_003,evt_002 and more", ids(evs), more, err)
	}
	for _, ev := range evs {
		if len(ev.Payload) != 0 || ev.Type != webhook.DocumentUploaded || ev.Owner != owner {
			t.Errorf("listed event %+v: want it without its payload, with its type and owner", ev)
		}
	}
	evs, more, err = f.Events(f.ctx, owner, evs[1].Time, until, evs[1].ID, 2)
	if err != nil || more || ids(evs) != "evt_001" {
		t.Fatalf("second page: %s more=%v, %v; want evt_001 alone", ids(evs), more, err)
	}
	// until is excluded, since included.
	evs, _, err = f.Events(f.ctx, owner, f.event(2).Time, f.event(1).Time, "", 10)
	if err != nil || ids(evs) != "evt_002" {
		t.Errorf("[evt_002's time, evt_001's) = %s, %v; want evt_002", ids(evs), err)
	}
}

// ids joins the events' ids.
func ids(evs []delivery.Event) string {
	var out []byte
	for i, ev := range evs {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, ev.ID...)
	}
	return string(out)
}

func testWebhooks(t *testing.T, f *suite) {
	got, err := f.Webhooks(f.ctx, owner)
	if err != nil || len(got) != 2 {
		t.Fatalf("Webhooks = %d, %v; want the 2 created", len(got), err)
	}
	for _, w := range got {
		if w.ID != f.hook.ID && w.ID != f.other.ID || w.URL != "https://hooks.example.com/"+w.ID || !w.IsActive {
			t.Errorf("webhook %+v is not as created", w)
		}
	}
	if got, err := f.Webhooks(f.ctx, tenant.Tenant{Account: owner.Account, Mode: tenant.Live}); err != nil || len(got) != 0 {
		t.Errorf("another owner's webhooks = %v, %v; want none", got, err)
	}
}

func testBegin(t *testing.T, f *suite) {
	m := f.message(f.hook, 1)
	b := f.begin(t, m, "c1", 0)
	st := f.status(t, m)
	if !st.Exists || st.State != delivery.StatePending || st.Attempts != 0 || st.Claim != "c1" || st.Begun != 1 ||
		!st.BegunAt.Equal(b.At) || !st.BegunUntil.Equal(b.Until) || !st.ClaimedUntil.Equal(b.ClaimedUntil) || !st.InProgress(f.now) {
		t.Errorf("after Begin: %+v; want pending, 0 attempts, attempt 1 in progress under c1", st)
	}
}

func testBeginConditions(t *testing.T, f *suite) {
	m := f.message(f.hook, 1)
	wantChanged(t, "Begin of attempt 2 of a delivery never begun", f.Begin(f.ctx, f.beginOf(m, "c1", 1)))
	f.begin(t, m, "c1", 0)
	wantChanged(t, "a second Begin while attempt 1 is in progress", f.Begin(f.ctx, f.beginOf(m, "c1", 0)))
	if _, err := f.Save(f.ctx, f.record(m, "c1", 0, 500, delivery.StatePending)); err != nil {
		t.Fatal(err)
	}
	wantChanged(t, "Begin under another claim while c1's lease is live", f.Begin(f.ctx, f.beginOf(m, "c2", 1)))
	wantChanged(t, "Begin with a stale attempt count", f.Begin(f.ctx, f.beginOf(m, "c1", 0)))
	late := f.beginOf(m, "c2", 1)
	late.At = f.now.Add(3 * time.Minute) // past c1's lease (ClaimedUntil is 2 minutes on)
	if err := f.Begin(f.ctx, late); err != nil {
		t.Fatalf("Begin under another claim once c1's lease ended: %v", err)
	}
	done := f.message(f.hook, 2)
	f.attempt(t, done, "c1", 0, 200, delivery.StateDelivered)
	wantChanged(t, "Begin of a delivered delivery", f.Begin(f.ctx, f.beginOf(done, "c1", 1)))
}

func testSave(t *testing.T, f *suite) {
	m := f.message(f.hook, 1)
	r1 := f.attempt(t, m, "c1", 0, 500, delivery.StatePending)
	st := f.status(t, m)
	if st.State != delivery.StatePending || st.Attempts != 1 || st.Claim != "c1" || !st.NextAttemptAt.Equal(r1.NextAttemptAt) ||
		!st.ClaimedUntil.Equal(r1.ClaimedUntil) || st.InProgress(f.now) || !st.UpdatedAt.Equal(f.now) {
		t.Errorf("after a failed attempt: %+v; want pending at 1 attempt, its next due", st)
	}
	f.attempt(t, m, "c1", 1, 200, delivery.StateDelivered)
	if st := f.status(t, m); st.State != delivery.StateDelivered || st.Attempts != 2 {
		t.Errorf("after a delivered attempt: %+v", st)
	}
	got, err := f.Attempts(f.ctx, f.hook.ID, m.DeliveryID)
	if err != nil || len(got) != 2 {
		t.Fatalf("Attempts = %+v, %v; want 2", got, err)
	}
	for i, a := range got {
		if a.Number != i+1 || a.Response.Status != []int{500, 200}[i] || a.URL != r1.Attempt.URL || !a.At.Equal(f.now) ||
			a.DeliveryID != m.DeliveryID || a.WebhookID != f.hook.ID || a.Owner != owner || string(a.Response.Body) != "ok" {
			t.Errorf("attempt %d = %+v; want as recorded, oldest first", i+1, a)
		}
	}
}

func testSaveConditions(t *testing.T, f *suite) {
	m := f.message(f.hook, 1)
	f.begin(t, m, "c1", 0)
	_, err := f.Save(f.ctx, f.record(m, "c1", 1, 500, delivery.StatePending))
	wantChanged(t, "Save with a stale prior count", err)
	_, err = f.Save(f.ctx, f.record(m, "c2", 0, 500, delivery.StatePending))
	wantChanged(t, "Save under another claim while c1's lease is live", err)
	second := f.record(m, "c1", 0, 500, delivery.StatePending)
	second.Attempts, second.Attempt.Number = 2, 2
	_, err = f.Save(f.ctx, second)
	wantChanged(t, "Save of an attempt that was not the one begun", err)
	r := f.record(m, "c1", 0, 500, delivery.StateFailed)
	if _, err := f.Save(f.ctx, r); err != nil {
		t.Fatal(err)
	}
	_, err = f.Save(f.ctx, r)
	wantChanged(t, "a second Save of the same step", err)
	// A skip records no attempt, on a delivery never begun.
	skip := f.message(f.hook, 2)
	if _, err := f.Save(f.ctx, delivery.Record{Message: skip, State: delivery.StateSkipped, Reason: "endpoint_disabled",
		Claim: "c1", At: f.now, Expires: f.now.Add(time.Hour), WebhookVersion: 1}); err != nil {
		t.Fatalf("a skip: %v", err)
	}
	if st := f.status(t, skip); st.State != delivery.StateSkipped || st.Reason != "endpoint_disabled" || st.Attempts != 0 {
		t.Errorf("after a skip: %+v", st)
	}
}

func testSaveHealth(t *testing.T, f *suite) {
	m := f.message(f.hook, 1)
	health := func() webhook.Health {
		t.Helper()
		tg, err := f.Target(f.ctx, owner, f.hook.ID, m.DeliveryID)
		if err != nil || !tg.Found {
			t.Fatalf("Target: %+v, %v", tg, err)
		}
		return tg.Webhook.Health
	}
	steps := []struct {
		change delivery.HealthChange
		want   int // failing attempts after it
	}{{delivery.StartFailing, 1}, {delivery.StartFailing, 1}, {delivery.CountFailure, 2}, {delivery.Recover, 0}}
	for i, s := range steps {
		f.begin(t, m, "c1", i)
		r := f.record(m, "c1", i, 500, delivery.StatePending)
		r.Health = s.change
		if _, err := f.Save(f.ctx, r); err != nil {
			t.Fatal(err)
		}
		if h := health(); h.FailingAttempts != s.want || h.FailingSince.IsZero() != (s.want == 0) {
			t.Errorf("after step %d (%v): %+v; want %d failing attempts", i+1, s.change, h, s.want)
		}
	}
	n := len(steps)
	f.begin(t, m, "c1", n)
	r := f.record(m, "c1", n, 410, delivery.StateFailed)
	r.Health, r.Reason, r.Notify = delivery.Disable, delivery.ReasonGone, true
	notified, err := f.Save(f.ctx, r)
	if err != nil || !notified {
		t.Fatalf("Save of a Disable: notified %v, %v; want its notice stored", notified, err)
	}
	tg, err := f.Target(f.ctx, owner, f.hook.ID, m.DeliveryID)
	if w := tg.Webhook; err != nil || w.IsActive || w.Health.DisabledReason != delivery.ReasonGone || !w.Health.DisabledAt.Equal(f.now) || w.Version != 2 {
		t.Errorf("after a Disable: %+v, %v; want inactive, %s, at version 2", w, err, delivery.ReasonGone)
	}
	if !tg.Delivery.NoticePending {
		t.Error("the Disable's notice is not pending")
	}
}

func testStaleDisable(t *testing.T, f *suite) {
	m := f.message(f.hook, 1)
	f.begin(t, m, "c1", 0)
	r := f.record(m, "c1", 0, 410, delivery.StateFailed)
	r.Health, r.Reason, r.Notify, r.WebhookVersion = delivery.Disable, delivery.ReasonGone, true, 7 // read before a change
	notified, err := f.Save(f.ctx, r)
	if err != nil || notified {
		t.Fatalf("Save of a stale Disable: notified %v, %v; want saved without its notice", notified, err)
	}
	tg, err := f.Target(f.ctx, owner, f.hook.ID, m.DeliveryID)
	if err != nil || !tg.Webhook.IsActive || tg.Webhook.Version != 1 || tg.Delivery.State != delivery.StateFailed || tg.Delivery.NoticePending {
		t.Errorf("after a stale Disable: %+v, %v; want the webhook untouched and the delivery failed, no notice", tg, err)
	}
}

func testNoticeSent(t *testing.T, f *suite) {
	m := f.message(f.hook, 1)
	f.begin(t, m, "c1", 0)
	r := f.record(m, "c1", 0, 500, delivery.StateFailed)
	r.Reason, r.Notify = delivery.ReasonExhausted, true
	if notified, err := f.Save(f.ctx, r); err != nil || !notified {
		t.Fatalf("Save with a notice: %v, %v", notified, err)
	}
	if err := f.NoticeSent(f.ctx, f.hook.ID, m.DeliveryID, 0); err != nil {
		t.Fatal(err)
	}
	if !f.status(t, m).NoticePending {
		t.Error("NoticeSent for another attempt count cleared the notice")
	}
	if err := f.NoticeSent(f.ctx, f.hook.ID, m.DeliveryID, 1); err != nil {
		t.Fatal(err)
	}
	if f.status(t, m).NoticePending {
		t.Error("NoticeSent did not clear the notice")
	}
	gone := f.message(f.hook, 2)
	if err := f.NoticeSent(f.ctx, f.hook.ID, gone.DeliveryID, 0); err != nil {
		t.Errorf("NoticeSent of a delivery never recorded: %v", err)
	}
	if st := f.status(t, gone); st.Exists {
		t.Errorf("NoticeSent made a delivery: %+v", st)
	}
}

// due lists m's shard's deliveries due by before.
func (f *suite) due(t *testing.T, m delivery.Message, before time.Time) []delivery.Parked {
	t.Helper()
	got, err := f.Due(f.ctx, delivery.ParkingShard(m.DeliveryID), before, 10)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func testParking(t *testing.T, f *suite) {
	m := f.message(f.hook, 1)
	r := f.attempt(t, m, "c1", 0, 500, delivery.StatePending)
	if got := f.due(t, m, f.now); len(got) != 0 {
		t.Errorf("due before its ResendAt: %+v", got)
	}
	got := f.due(t, m, r.ResendAt)
	if len(got) != 1 {
		t.Fatalf("due at its ResendAt: %+v; want it", got)
	}
	p := got[0]
	want := m
	want.Claim, want.Payload = "c1", nil
	if p.Attempts != 1 || !p.ResendAt.Equal(r.ResendAt) || !p.NextAttemptAt.Equal(r.NextAttemptAt) || p.Message.DeliveryID != want.DeliveryID ||
		p.Message.Claim != "c1" || p.Message.Payload != nil || p.Message.EventID != m.EventID || !p.Message.EventTime.Equal(m.EventTime) ||
		p.Message.WebhookID != m.WebhookID || p.Message.Owner() != owner || p.Message.EventType != m.EventType {
		t.Errorf("parked = %+v; want %+v at 1 attempt, resend at %v", p, want, r.ResendAt)
	}
	if st := f.status(t, m); !st.ResendAt.Equal(r.ResendAt) {
		t.Errorf("Target's ResendAt = %v, want %v", st.ResendAt, r.ResendAt)
	}
	// A pending delivery without a ResendAt is not parked.
	unparked := f.message(f.hook, 2)
	f.begin(t, unparked, "c1", 0)
	pending := f.record(unparked, "c1", 0, 500, delivery.StatePending)
	pending.ResendAt = time.Time{}
	if _, err := f.Save(f.ctx, pending); err != nil {
		t.Fatal(err)
	}
	if got := f.due(t, unparked, f.now.Add(time.Hour)); slices.ContainsFunc(got, func(p delivery.Parked) bool { return p.Message.DeliveryID == unparked.DeliveryID }) {
		t.Errorf("a pending delivery without ResendAt is due: %+v", got)
	}
	// A finished delivery is no longer parked.
	f.attempt(t, m, "c1", 1, 200, delivery.StateDelivered)
	if got := f.due(t, m, f.now.Add(time.Hour)); len(got) != 0 {
		t.Errorf("a delivered delivery is still due: %+v", got)
	}
}

func testRequeued(t *testing.T, f *suite) {
	m := f.message(f.hook, 1)
	r := f.attempt(t, m, "c1", 0, 500, delivery.StatePending)
	p := f.due(t, m, r.ResendAt)[0]
	later := f.now.Add(5 * time.Minute)
	if err := f.Requeued(f.ctx, p, later); err != nil {
		t.Fatal(err)
	}
	if got := f.due(t, m, later.Add(-time.Second)); len(got) != 0 {
		t.Errorf("due before its new ResendAt: %+v", got)
	}
	moved := f.due(t, m, later)
	if len(moved) != 1 || !moved[0].ResendAt.Equal(later) {
		t.Fatalf("after Requeued: %+v; want it due at %v", moved, later)
	}
	if err := f.Requeued(f.ctx, p, f.now.Add(time.Hour)); err != nil { // p's ResendAt is stale
		t.Fatal(err)
	}
	if got := f.due(t, m, later); len(got) != 1 || !got[0].ResendAt.Equal(later) {
		t.Errorf("a stale Requeued moved it: %+v", got)
	}
	if err := f.Requeued(f.ctx, moved[0], time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := f.due(t, m, f.now.Add(time.Hour)); len(got) != 0 {
		t.Errorf("Requeued with no ResendAt left it parked: %+v", got)
	}
}

func testDeliveries(t *testing.T, f *suite) {
	var ms []delivery.Message
	for n, state := range []delivery.State{delivery.StateDelivered, delivery.StateFailed, delivery.StateDelivered} {
		m := f.message(f.hook, n+1) // evt_001 is the newest
		f.attempt(t, m, "c1", 0, 200, state)
		ms = append(ms, m)
	}
	f.attempt(t, f.message(f.other, 1), "c1", 0, 200, delivery.StateDelivered)
	page, err := f.Deliveries(f.ctx, f.hook.ID, delivery.Filter{}, 2, "")
	if err != nil || summaryIDs(page) != ms[0].DeliveryID+","+ms[1].DeliveryID || !page.HasMore || page.Next != ms[1].DeliveryID {
		t.Fatalf("first page: %+v, %v; want the two newest and more after the second", page, err)
	}
	if s := page.Deliveries[0]; s.EventID != ms[0].EventID || s.EventType != ms[0].EventType || !s.EventTime.Equal(ms[0].EventTime) ||
		s.State != delivery.StateDelivered || s.Attempts != 1 || !s.LastAttemptAt.Equal(f.now) || s.LastStatus != 200 ||
		s.LastError != "" || !s.CreatedAt.Equal(f.now) {
		t.Errorf("summary %+v is not the delivery's", s)
	}
	page, err = f.Deliveries(f.ctx, f.hook.ID, delivery.Filter{}, 2, page.Next)
	if err != nil || summaryIDs(page) != ms[2].DeliveryID || page.HasMore {
		t.Errorf("second page: %+v, %v; want the oldest alone", page, err)
	}
	page, err = f.Deliveries(f.ctx, f.hook.ID, delivery.Filter{State: delivery.StateFailed}, 10, "")
	if err != nil || summaryIDs(page) != ms[1].DeliveryID {
		t.Errorf("failed ones: %+v, %v; want %s", page, err, ms[1].DeliveryID)
	}
	page, err = f.Deliveries(f.ctx, f.hook.ID, delivery.Filter{Type: webhook.DocumentProcessingFailed}, 10, "")
	if err != nil || len(page.Deliveries) != 0 {
		t.Errorf("of another event type: %+v, %v; want none", page, err)
	}
	page, err = f.Deliveries(f.ctx, f.hook.ID, delivery.Filter{Since: ms[2].EventTime, Until: ms[0].EventTime}, 10, "")
	if err != nil || summaryIDs(page) != ms[1].DeliveryID+","+ms[2].DeliveryID {
		t.Errorf("of events in [oldest, newest): %+v, %v; want the two older", page, err)
	}
}

// summaryIDs joins the page's delivery ids.
func summaryIDs(p delivery.Page) string {
	var out []byte
	for i, s := range p.Deliveries {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, s.ID...)
	}
	return string(out)
}

func testDeliveryOf(t *testing.T, f *suite) {
	m := f.message(f.hook, 1)
	f.attempt(t, m, "c1", 0, 500, delivery.StateFailed)
	if s, err := f.Delivery(f.ctx, f.hook.ID, m.DeliveryID); err != nil || s.ID != m.DeliveryID || s.State != delivery.StateFailed ||
		s.LastStatus != 500 || !s.LastAttemptAt.Equal(f.now) || !s.CreatedAt.Equal(f.now) {
		t.Errorf("Delivery = %+v, %v; want it failed, its last attempt's 500", s, err)
	}
	if _, err := f.Delivery(f.ctx, f.other.ID, m.DeliveryID); !errors.Is(err, delivery.ErrNotFound) {
		t.Errorf("Delivery through another webhook: %v, want ErrNotFound", err)
	}
	never := f.message(f.hook, 2)
	if _, err := f.Delivery(f.ctx, f.hook.ID, never.DeliveryID); !errors.Is(err, delivery.ErrNotFound) {
		t.Errorf("Delivery never recorded: %v, want ErrNotFound", err)
	}
	got, err := f.Statuses(f.ctx, f.hook.ID, []string{m.DeliveryID, never.DeliveryID})
	if st, ok := got[m.DeliveryID]; err != nil || len(got) != 1 || !ok || st.State != delivery.StateFailed || st.Attempts != 1 {
		t.Errorf("Statuses = %+v, %v; want only the recorded one", got, err)
	}
	if got, err := f.Statuses(f.ctx, f.other.ID, []string{m.DeliveryID}); err != nil || len(got) != 0 {
		t.Errorf("Statuses through another webhook = %+v, %v; want none", got, err)
	}
}

func testReopen(t *testing.T, f *suite) {
	m := f.message(f.hook, 1)
	f.attempt(t, m, "c1", 0, 500, delivery.StateFailed)
	prior := f.status(t, m)
	send := m
	send.Claim = "send-1"
	r := delivery.Reopen{Message: send, Prior: prior, AttemptLimit: 2, At: f.now, ClaimedUntil: f.now.Add(time.Minute),
		ResendAt: f.now.Add(time.Minute), Expires: f.now.Add(time.Hour)}
	if err := f.Reopen(f.ctx, r); err != nil {
		t.Fatal(err)
	}
	st := f.status(t, m)
	if st.State != delivery.StatePending || st.Claim != "send-1" || st.Attempts != 1 || st.AttemptLimit != 2 ||
		!st.NextAttemptAt.Equal(f.now) || !st.ClaimedUntil.Equal(r.ClaimedUntil) || !st.ResendAt.Equal(r.ResendAt) {
		t.Errorf("after Reopen: %+v; want pending under send-1, due now, limit 2", st)
	}
	if got := f.due(t, m, r.ResendAt); len(got) != 1 || got[0].Message.Claim != "send-1" {
		t.Errorf("after Reopen, due: %+v; want it parked under send-1", got)
	}
	wantChanged(t, "a Reopen of the delivery as it was", f.Reopen(f.ctx, r))
	if err := f.Restore(f.ctx, r); err != nil {
		t.Fatal(err)
	}
	if st := f.status(t, m); st.State != delivery.StateFailed || st.Claim != "c1" || st.Attempts != 1 {
		t.Errorf("after Restore: %+v; want failed under c1 again", st)
	}
	if got := f.due(t, m, f.now.Add(time.Hour)); len(got) != 0 {
		t.Errorf("after Restore, due: %+v; want it no longer parked", got)
	}
	// A send of an event never delivered to the endpoint makes the
	// delivery; its Restore removes it.
	fresh := f.message(f.hook, 2)
	fresh.Claim = "send-2"
	r = delivery.Reopen{Message: fresh, At: f.now, ClaimedUntil: f.now.Add(time.Minute), ResendAt: f.now.Add(time.Minute),
		Expires: f.now.Add(time.Hour)}
	if err := f.Reopen(f.ctx, r); err != nil {
		t.Fatal(err)
	}
	if s, err := f.Delivery(f.ctx, f.hook.ID, fresh.DeliveryID); err != nil || s.State != delivery.StatePending || s.EventID != fresh.EventID {
		t.Errorf("a new delivery's Reopen: %+v, %v", s, err)
	}
	wantChanged(t, "a Reopen of a new delivery that exists", f.Reopen(f.ctx, r))
	if err := f.Restore(f.ctx, r); err != nil {
		t.Fatal(err)
	}
	if st := f.status(t, fresh); st.Exists {
		t.Errorf("after Restore of a new delivery: %+v; want it gone", st)
	}
}

func testGates(t *testing.T, f *suite) {
	lim := delivery.Limits{Concurrency: 1}
	entry := func(id string) delivery.Entry {
		return delivery.Entry{WebhookID: f.hook.ID, DeliveryID: id, Holder: delivery.Holder{Until: f.now.Add(time.Minute)},
			At: f.now, Limits: lim, Expires: f.now.Add(time.Hour)}
	}
	if err := f.Enter(f.ctx, entry("msg_a")); err != nil {
		t.Fatal(err)
	}
	g, err := f.Gate(f.ctx, f.hook.ID)
	if h, ok := g.Holders["msg_a"]; err != nil || !ok || !h.Until.Equal(f.now.Add(time.Minute)) || g.Begun[f.now.Unix()] != 1 {
		t.Fatalf("after Enter: %+v, %v; want msg_a holding the slot, counted in its second", g, err)
	}
	wantChanged(t, "Enter with the only slot taken", f.Enter(f.ctx, entry("msg_b")))
	if err := f.Exit(f.ctx, delivery.Exit{WebhookID: f.hook.ID, DeliveryID: "msg_a", Holder: g.Holders["msg_a"], At: f.now,
		Attempted: true, Failed: true}); err != nil {
		t.Fatal(err)
	}
	g, err = f.Gate(f.ctx, f.hook.ID)
	if tally := g.Tallies[f.now.Unix()/60]; err != nil || len(g.Holders) != 0 || tally.Attempts != 1 || tally.Failures != 1 {
		t.Fatalf("after Exit: %+v, %v; want no holder and one failed attempt counted", g, err)
	}
	if err := f.Enter(f.ctx, entry("msg_b")); err != nil {
		t.Errorf("Enter once the slot is free: %v", err)
	}
	if g, err := f.Gate(f.ctx, f.other.ID); err != nil || len(g.Holders) != 0 || !g.OpenUntil.IsZero() {
		t.Errorf("a gate never written = %+v, %v; want an empty one", g, err)
	}
}

func testLimiter(t *testing.T, f *suite) {
	taken, reset, err := f.Take(f.ctx, owner, f.hook.ID, delivery.SendsPerMinute-1, f.now)
	if err != nil || taken != delivery.SendsPerMinute-1 || !reset.Equal(f.now.Truncate(time.Minute).Add(time.Minute)) {
		t.Fatalf("Take = %d, %v, %v; want all, reset at the next minute", taken, reset, err)
	}
	if taken, _, err := f.Take(f.ctx, owner, f.hook.ID, 5, f.now); err != nil || taken != 1 {
		t.Fatalf("Take past the limit = %d, %v; want the 1 left", taken, err)
	}
	if taken, _, err := f.Take(f.ctx, owner, f.other.ID, 5, f.now); err != nil || taken != 5 {
		t.Errorf("another webhook's Take = %d, %v; want its own 5", taken, err)
	}
	if err := f.GiveBack(f.ctx, owner, f.hook.ID, 2, f.now); err != nil {
		t.Fatal(err)
	}
	if taken, _, err := f.Take(f.ctx, owner, f.hook.ID, 5, f.now); err != nil || taken != 2 {
		t.Errorf("Take after GiveBack of 2 = %d, %v; want 2", taken, err)
	}
	next := f.now.Truncate(time.Minute).Add(time.Minute)
	if taken, reset, err := f.Take(f.ctx, owner, f.hook.ID, 5, next); err != nil || taken != 5 || !reset.Equal(next.Add(time.Minute)) {
		t.Errorf("Take in the next minute = %d, %v, %v; want a fresh count", taken, reset, err)
	}
	if taken, _, err := f.Take(f.ctx, owner, f.hook.ID, 0, next); err != nil || taken != 0 {
		t.Errorf("Take of none = %d, %v", taken, err)
	}
}
