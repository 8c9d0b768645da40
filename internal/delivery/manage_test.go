package delivery_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/webhook"
)

// manager is a Manager over the fixture's store and a queue.
func (f *fixture) manager() (*delivery.Manager, *queueFake) {
	q := &queueFake{}
	return &delivery.Manager{Endpoints: endpoints{f.store}, History: f.store, Resends: f.store, Events: f.store, Queue: q,
		Limiter: f.store, Idempotency: onceKeys{}, Retention: 24 * time.Hour, Now: func() time.Time { return f.now }}, q
}

// keep stores m's event, as the fan-out does.
func (f *fixture) keep(t *testing.T, m delivery.Message) {
	t.Helper()
	ev := delivery.Event{ID: m.EventID, Type: m.EventType, Owner: m.Owner(), Time: m.EventTime, SourceID: "src-" + m.EventID, Payload: m.Payload}
	if _, err := f.store.Keep(context.Background(), ev, f.now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
}

// code is the apperr code of err, "" if it has none.
func code(err error) string {
	if e := apperr.As(err); e != nil {
		return e.Code
	}
	return ""
}

func TestRetryOfADeliveredDeliveryPostsOnceMoreWithTheSameID(t *testing.T) {
	f := newFixture(t, settings(true, 3), ok200)
	m := message()
	f.keep(t, m)
	f.run(t, m, "sqs-1")
	mgr, q := f.manager()
	f.now = f.now.Add(time.Minute)
	sum, replayed, err := mgr.Retry(context.Background(), owner, f.hook.ID, m.DeliveryID, "key-1")
	if err != nil || replayed || sum.State != delivery.StatePending || sum.ID != m.DeliveryID {
		t.Fatalf("retry: %+v, replayed %v, %v", sum, replayed, err)
	}
	// The same key again replays, and queues nothing more.
	if _, replayed, err := mgr.Retry(context.Background(), owner, f.hook.ID, m.DeliveryID, "key-1"); err != nil || !replayed {
		t.Fatalf("replay: replayed %v, %v", replayed, err)
	}
	if len(q.sent) != 1 || q.sent[0].Claim == "" || !bytes.Equal(q.sent[0].Payload, m.Payload) {
		t.Fatalf("queued %+v, want one message with a claim and the event's payload", q.sent)
	}
	// The old message, delivered again, posts nothing; the new one posts once.
	if step, err := f.d.Deliver(context.Background(), m, "sqs-1"); err != nil || step.Outcome != delivery.OutcomeDuplicate {
		t.Fatalf("old message: %+v, %v", step, err)
	}
	steps := f.run(t, q.sent[0], "sqs-2")
	if len(f.sender.requests) != 2 || f.sender.requests[1].DeliveryID != m.DeliveryID || steps[len(steps)-1].Outcome != delivery.OutcomeDelivered {
		t.Fatalf("requests %d, second id %q, steps %+v", len(f.sender.requests), f.sender.requests[len(f.sender.requests)-1].DeliveryID, steps)
	}
	if st := f.store.deliveries[m.DeliveryID]; st.State != delivery.StateDelivered || st.Attempts != 2 {
		t.Fatalf("delivery after the retry: %+v", st)
	}
}

func TestRetryOfAFailedDeliveryIsOneAttemptWithoutANotice(t *testing.T) {
	f := newFixture(t, settings(true, 1), fail500)
	n := &notices{}
	f.d.Notifier = n
	m := message()
	f.keep(t, m)
	f.run(t, m, "sqs-1")
	mgr, q := f.manager()
	if _, _, err := mgr.Retry(context.Background(), owner, f.hook.ID, m.DeliveryID, ""); err != nil {
		t.Fatal(err)
	}
	steps := f.run(t, q.sent[0], "sqs-2")
	if len(f.sender.requests) != 3 || len(steps) != 1 || steps[0].Outcome != delivery.OutcomeFailed {
		t.Fatalf("requests %d, steps %+v: want 2 attempts, then exactly 1 more", len(f.sender.requests), steps)
	}
	// The automatic attempts' exhaustion is noticed; the manual attempt's
	// failure, which the customer asked for and sees, is not.
	if len(n.sent) != 1 || n.sent[0].Type != delivery.NoticeDeliveryExhausted || n.sent[0].Attempts != 2 {
		t.Fatalf("notices %+v, want one delivery.exhausted after 2 attempts", n.sent)
	}
}

func TestRetryRefusals(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, settings(true, 3), fail500)
	f.d.Schedule = delivery.Schedule{delivery.ResendMargin / 2}
	m := message()
	f.keep(t, m)
	if _, err := f.d.Deliver(ctx, m, "sqs-1"); err != nil { // attempt 1 fails; attempt 2 due within ResendMargin
		t.Fatal(err)
	}
	mgr, q := f.manager()
	_, _, err := mgr.Retry(ctx, owner, f.hook.ID, m.DeliveryID, "")
	if code(err) != apperr.CodeDeliveryInProgress {
		t.Fatalf("retry with an attempt due within ResendMargin: %v", err)
	}
	if _, _, err := mgr.Retry(ctx, owner, f.hook.ID, delivery.DeliveryID("evt_9", f.hook.ID, f.now), ""); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("unknown delivery: %v", err)
	}
	other := owner
	other.Account = "acct_2"
	if _, _, err := mgr.Retry(ctx, other, f.hook.ID, m.DeliveryID, ""); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("another account's delivery: %v", err)
	}
	f.store.sendMax = 0
	f.store.sends[f.hook.ID] = delivery.SendsPerMinute
	f.d.Schedule = delivery.Schedule{time.Hour}
	w := f.store.hook(f.hook.ID)
	w.IsActive = false
	f.store.hooks[w.ID] = w
	if _, _, err := mgr.Retry(ctx, owner, f.hook.ID, m.DeliveryID, ""); code(err) != apperr.CodeWebhookDisabled {
		t.Fatalf("disabled webhook: %v", err)
	}
	w.IsActive = true
	f.store.hooks[w.ID] = w
	f.now = f.now.Add(2 * time.Minute)
	if _, err := f.d.Deliver(ctx, m, "sqs-1"); err != nil { // attempt 2 fails; attempt 3 due in an hour
		t.Fatal(err)
	}
	_, _, err = mgr.Retry(ctx, owner, f.hook.ID, m.DeliveryID, "")
	if e := apperr.As(err); e == nil || e.Code != apperr.CodeRateLimited || e.RetryAfter <= 0 {
		t.Fatalf("over the rate: %v", err)
	}
	if len(q.sent) != 0 {
		t.Fatalf("refused retries queued %d messages", len(q.sent))
	}
	delete(f.store.sends, f.hook.ID)
	if _, _, err := mgr.Retry(ctx, owner, f.hook.ID, m.DeliveryID, ""); err != nil || len(q.sent) != 1 {
		t.Fatalf("a sleeping pending delivery is brought forward: %v, %d queued", err, len(q.sent))
	}
	// The message it took over from waits, unattempted, while the send's
	// message may be on its way; once that one records its attempt, the
	// old one is a duplicate.
	if step, err := f.d.Deliver(ctx, m, "sqs-1"); err != nil || step.Outcome != delivery.OutcomeEarly || len(f.sender.requests) != 2 {
		t.Fatalf("the message it took over from, before the send's attempt: %+v, %v, %d requests", step, err, len(f.sender.requests))
	}
	if _, err := f.d.Deliver(ctx, q.sent[0], "sqs-2"); err != nil {
		t.Fatal(err)
	}
	if step, err := f.d.Deliver(ctx, m, "sqs-1"); err != nil || step.Outcome != delivery.OutcomeDuplicate {
		t.Fatalf("the message it took over from: %+v, %v", step, err)
	}
}

func TestASendThatCannotBeQueuedIsUndone(t *testing.T) {
	f := newFixture(t, settings(true, 3), ok200)
	m := message()
	f.keep(t, m)
	f.run(t, m, "sqs-1")
	mgr, q := f.manager()
	q.err = errors.New("sqs down")
	before := f.store.deliveries[m.DeliveryID]
	if _, _, err := mgr.Retry(context.Background(), owner, f.hook.ID, m.DeliveryID, ""); err == nil {
		t.Fatal("a retry whose message was not queued succeeded")
	}
	if after := f.store.deliveries[m.DeliveryID]; after != before {
		t.Fatalf("delivery after a failed retry: %+v, want it as before: %+v", after, before)
	}
}

func TestRecoverSendsWhatWasNotDeliveredOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, settings(true, 0), ok200)
	at := f.now.Add(-time.Hour)
	event := func(id string, typ webhook.EventType, i int) delivery.Message {
		m := message()
		m.EventID, m.EventType, m.EventTime = id, typ, at.Add(time.Duration(i)*time.Second)
		m.DeliveryID = delivery.DeliveryID(id, f.hook.ID, m.EventTime)
		f.keep(t, m)
		return m
	}
	delivered := event("evt_a", webhook.DocumentUploaded, 0)
	f.run(t, delivered, "sqs-a")
	missed := event("evt_b", webhook.DocumentUploaded, 1) // published while the endpoint was disabled
	event("evt_c", webhook.DocumentProcessingFailed, 2)   // a type the webhook does not take
	failed := event("evt_d", webhook.DocumentUploaded, 3)
	f.sender.script = []delivery.Response{fail500}
	f.run(t, failed, "sqs-d")
	missed2 := event("evt_e", webhook.DocumentUploaded, 3)
	f.sender.script = []delivery.Response{ok200}
	mgr, q := f.manager()
	f.store.sendMax = 2 // two now, the third on the next request
	r, _, err := mgr.Recover(ctx, owner, f.hook.ID, delivery.Window{Since: at, Until: f.now}, "")
	if err != nil || len(r.Deliveries) != 2 || !r.HasMore || r.Deliveries[0] != missed.DeliveryID || r.Deliveries[1] != failed.DeliveryID {
		t.Fatalf("first recovery: %+v, %v", r, err)
	}
	if _, _, err := mgr.Recover(ctx, owner, f.hook.ID, r.Next, ""); code(err) != apperr.CodeRateLimited {
		t.Fatalf("recovery over the rate: %v", err)
	}
	f.store.sendMax = 10
	r2, _, err := mgr.Recover(ctx, owner, f.hook.ID, r.Next, "")
	if err != nil || len(r2.Deliveries) != 1 || r2.Deliveries[0] != missed2.DeliveryID || r2.HasMore {
		t.Fatalf("second recovery from %+v: %+v, %v", r.Next, r2, err)
	}
	for i, msg := range q.sent {
		f.run(t, msg, "sqs-r"+string(rune('0'+i)))
	}
	posts := map[string]int{}
	for _, req := range f.sender.requests {
		posts[req.DeliveryID]++
	}
	want := map[string]int{delivered.DeliveryID: 1, missed.DeliveryID: 1, failed.DeliveryID: 2, missed2.DeliveryID: 1}
	if len(posts) != len(want) {
		t.Fatalf("posts %v, want %v", posts, want)
	}
	for id, n := range want {
		if posts[id] != n {
			t.Fatalf("posts %v, want %v", posts, want)
		}
	}
	// Everything is delivered now: a third recovery sends nothing.
	r3, _, err := mgr.Recover(ctx, owner, f.hook.ID, delivery.Window{Since: at, Until: f.now}, "")
	if err != nil || len(r3.Deliveries) != 0 || r3.HasMore {
		t.Fatalf("recovery after everything was delivered: %+v, %v", r3, err)
	}
	if _, _, err := mgr.Recover(ctx, owner, f.hook.ID, delivery.Window{Since: f.now.Add(-delivery.RecoverWindow - time.Hour), Until: f.now}, ""); code(err) != apperr.CodeSinceInvalid {
		t.Fatalf("a window past the limit: %v", err)
	}
}

func TestTestEventsAreMarkedAndReachUnsubscribedEndpoints(t *testing.T) {
	f := newFixture(t, settings(true, 0), ok200)
	mgr, q := f.manager()
	sum, _, err := mgr.Test(context.Background(), owner, f.hook.ID, webhook.DocumentProcessingFailed, "")
	if err != nil || !sum.Test || sum.State != delivery.StatePending || len(q.sent) != 1 {
		t.Fatalf("test: %+v, %v, %d queued", sum, err, len(q.sent))
	}
	m := q.sent[0]
	if !m.Test || !bytes.Contains(m.Payload, []byte(`"test":true`)) || m.DeliveryID != sum.ID {
		t.Fatalf("test message %+v, payload %s", m, m.Payload)
	}
	steps := f.run(t, m, "sqs-t")
	if steps[0].Outcome != delivery.OutcomeDelivered || len(f.sender.requests) != 1 {
		t.Fatalf("test delivery: %+v", steps)
	}
	if ev, err := f.store.Event(context.Background(), owner, m.EventID); err != nil || !ev.Test {
		t.Fatalf("test event kept: %+v, %v", ev, err)
	}
}

func TestNoticesArePublishedUntilTheyGoOut(t *testing.T) {
	f := newFixture(t, settings(true, 3), status(410))
	n := &notices{fail: 1}
	f.d.Notifier = n
	m := message()
	step, err := f.d.Deliver(context.Background(), m, "sqs-1")
	if err == nil || step.Attempt == nil {
		t.Fatalf("a notice that could not be published: %+v, %v; want the attempt and an error, so the message comes back", step, err)
	}
	if st := f.store.deliveries[m.DeliveryID]; st.State != delivery.StateFailed || !st.NoticePending {
		t.Fatalf("delivery %+v, want failed with its notice pending", st)
	}
	step, err = f.d.Deliver(context.Background(), m, "sqs-1")
	if err != nil || step.Outcome != delivery.OutcomeDuplicate || len(n.sent) != 1 {
		t.Fatalf("redelivery: %+v, %v, notices %+v", step, err, n.sent)
	}
	got := n.sent[0]
	if got.Type != delivery.NoticeWebhookDisabled || got.Reason != delivery.ReasonGone || got.WebhookID != f.hook.ID || got.Account != owner.Account {
		t.Fatalf("notice %+v", got)
	}
	if st := f.store.deliveries[m.DeliveryID]; st.NoticePending || len(f.sender.requests) != 1 {
		t.Fatalf("delivery %+v after the notice, %d requests", st, len(f.sender.requests))
	}
}

func TestAnUndoneSendPostsNothing(t *testing.T) {
	f := newFixture(t, settings(true, 3), ok200)
	mgr, q := f.manager()
	if _, _, err := mgr.Test(context.Background(), owner, f.hook.ID, webhook.DocumentUploaded, ""); err != nil {
		t.Fatal(err)
	}
	m := q.sent[0]
	// The send is undone (its queueing was reported failed after the
	// message got through): the message finds no delivery of its claim.
	delete(f.store.deliveries, m.DeliveryID)
	if step, err := f.d.Deliver(context.Background(), m, "sqs-1"); err != nil || step.Outcome != delivery.OutcomeDuplicate || len(f.sender.requests) != 0 {
		t.Fatalf("message of an undone send: %+v, %v, %d requests", step, err, len(f.sender.requests))
	}
}

func TestRecoverBringsForwardWaitingDeliveriesAndRestoresTheRetries(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, settings(true, 2), fail500)
	f.d.Schedule = delivery.Schedule{time.Hour}
	waiting := message()
	f.keep(t, waiting)
	if _, err := f.d.Deliver(ctx, waiting, "sqs-1"); err != nil { // attempt 1 fails; the next is an hour away
		t.Fatal(err)
	}
	failed := message()
	failed.EventID, failed.EventTime = "evt_2", waiting.EventTime.Add(time.Second)
	failed.DeliveryID = delivery.DeliveryID(failed.EventID, f.hook.ID, failed.EventTime)
	f.keep(t, failed)
	f.d.Schedule = delivery.Schedule{0}
	f.run(t, failed, "sqs-2") // 3 attempts, failed
	mgr, q := f.manager()
	r, _, err := mgr.Recover(ctx, owner, f.hook.ID, delivery.Window{Since: waiting.EventTime.Add(-time.Minute), Until: f.now}, "")
	if err != nil || len(r.Deliveries) != 2 {
		t.Fatalf("recover: %+v, %v; want both the waiting and the failed delivery", r, err)
	}
	if st := f.store.deliveries[failed.DeliveryID]; st.AttemptLimit != 3+3 {
		t.Fatalf("recovered failed delivery: %+v, want the webhook's 3 attempts more", st)
	}
	if len(q.sent) != 2 || q.sent[0].DeliveryID != waiting.DeliveryID {
		t.Fatalf("queued %+v", q.sent)
	}
	if step, err := f.d.Deliver(ctx, waiting, "sqs-1"); err != nil || step.Outcome != delivery.OutcomeEarly {
		t.Fatalf("the message the recovery took over from, before the recovery's attempt: %+v, %v", step, err)
	}
	if _, err := f.d.Deliver(ctx, q.sent[0], "sqs-r"); err != nil {
		t.Fatal(err)
	}
	if step, err := f.d.Deliver(ctx, waiting, "sqs-1"); err != nil || step.Outcome != delivery.OutcomeDuplicate {
		t.Fatalf("the message the recovery took over from: %+v, %v", step, err)
	}
}

func TestARetryWaitsForAPendingNotice(t *testing.T) {
	f := newFixture(t, settings(true, 0), fail500)
	f.d.Notifier = &notices{fail: 1}
	m := message()
	f.keep(t, m)
	if _, err := f.d.Deliver(context.Background(), m, "sqs-1"); err == nil {
		t.Fatal("want the notice's failure")
	}
	mgr, _ := f.manager()
	if _, _, err := mgr.Retry(context.Background(), owner, f.hook.ID, m.DeliveryID, ""); code(err) != apperr.CodeDeliveryInProgress {
		t.Fatalf("retry while its notice is pending: %v", err)
	}
}

func TestAStaleDisableAnnouncesNothing(t *testing.T) {
	f := newFixture(t, settings(true, 3), status(410))
	n := &notices{}
	f.d.Notifier = n
	// The webhook changes while the attempt is made (a PATCH): the 410
	// answered the webhook as it was, so it is not disabled.
	f.sender.onSend = func() {
		w := f.store.hook(f.hook.ID)
		w.Version++
		f.store.mu.Lock()
		f.store.hooks[w.ID] = w
		f.store.mu.Unlock()
	}
	if _, err := f.d.Deliver(context.Background(), message(), "sqs-1"); err != nil {
		t.Fatal(err)
	}
	if w := f.store.hook(f.hook.ID); !w.IsActive || len(n.sent) != 0 {
		t.Fatalf("webhook active %v, notices %+v; want it active and no notice", w.IsActive, n.sent)
	}
}

func TestRecoverLeavesAFreshFanoutToItsMessage(t *testing.T) {
	f := newFixture(t, settings(true, 3), ok200)
	w := f.store.hook(f.hook.ID)
	w.UpdatedAt = f.now.Add(-time.Hour)
	f.store.hooks[w.ID] = w
	fresh := message() // queued by the fan-out a minute ago; its first attempt not yet recorded
	fresh.EventID, fresh.EventTime = "evt_fresh", f.now.Add(-time.Minute)
	fresh.DeliveryID = delivery.DeliveryID(fresh.EventID, w.ID, fresh.EventTime)
	f.keep(t, fresh)
	lost := message() // queued 20 minutes ago, never attempted: its message was lost
	lost.EventID, lost.EventTime = "evt_lost", f.now.Add(-20*time.Minute)
	lost.DeliveryID = delivery.DeliveryID(lost.EventID, w.ID, lost.EventTime)
	f.keep(t, lost)
	mgr, _ := f.manager()
	r, _, err := mgr.Recover(context.Background(), owner, w.ID, delivery.Window{Since: f.now.Add(-30 * time.Minute)}, "")
	if err != nil || len(r.Deliveries) != 1 || r.Deliveries[0] != lost.DeliveryID {
		t.Fatalf("recover: %+v, %v; want only the lost delivery", r, err)
	}
}

func TestRecoverSendsAnEventOfTheSecondOfTheReEnable(t *testing.T) {
	f := newFixture(t, settings(true, 3), ok200)
	// The webhook was re-enabled two minutes ago, 700 ms into a second;
	// webhook.Service keeps updated_at to the second, and EventBridge
	// stamps events to the second too.
	w := f.store.hook(f.hook.ID)
	reEnabled := f.now.Add(-2 * time.Minute).Add(700 * time.Millisecond)
	w.UpdatedAt = reEnabled.Truncate(time.Second)
	f.store.hooks[w.ID] = w
	event := func(id string, at time.Time) delivery.Message {
		m := message()
		m.EventID, m.EventTime = id, at
		m.DeliveryID = delivery.DeliveryID(id, w.ID, at)
		f.keep(t, m)
		return m
	}
	// Published 300 ms into that second, while the webhook was still
	// disabled: the fan-out never queued it, and it is stamped with the
	// re-enable's second.
	missed := event("evt_same_second", reEnabled.Truncate(time.Second))
	// Stamped a second later, so published after the re-enable: the
	// fan-out queued it, and its message is on its way.
	event("evt_next_second", reEnabled.Truncate(time.Second).Add(time.Second))
	mgr, _ := f.manager()
	r, _, err := mgr.Recover(context.Background(), owner, w.ID, delivery.Window{Since: reEnabled.Add(-time.Minute)}, "")
	if err != nil || len(r.Deliveries) != 1 || r.Deliveries[0] != missed.DeliveryID {
		t.Fatalf("recover: %+v, %v; want only the event of the re-enable's second", r, err)
	}
}

func TestASendNeitherQueuedNorUndoneLosesNoRetries(t *testing.T) {
	for _, series := range []string{"automatic", "manual"} {
		t.Run(series, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, settings(true, 3), fail500)
			f.d.Schedule = delivery.Schedule{5 * time.Minute}
			m := message()
			f.keep(t, m)
			mgr, q := f.manager()
			// The series of retries that owns the delivery: its attempt
			// failed, and its message comes back in 5 minutes.
			msg, messageID := m, "sqs-1"
			if _, err := f.d.Deliver(ctx, m, "sqs-1"); err != nil {
				t.Fatal(err)
			}
			if series == "manual" {
				// A retry took it over and its attempt failed too.
				if _, _, err := mgr.Retry(ctx, owner, f.hook.ID, m.DeliveryID, ""); err != nil {
					t.Fatal(err)
				}
				msg, messageID = q.sent[0], "sqs-2"
				if _, err := f.d.Deliver(ctx, msg, messageID); err != nil {
					t.Fatal(err)
				}
			}
			// A retry whose message cannot be queued, and whose undo fails
			// too: the delivery is left claimed by a message never sent.
			q.err, f.store.restoreErr = errors.New("sqs down"), errors.New("dynamodb down")
			if _, _, err := mgr.Retry(ctx, owner, f.hook.ID, m.DeliveryID, ""); err == nil {
				t.Fatal("a retry that could neither queue nor undo succeeded")
			}
			q.err, f.store.restoreErr = nil, nil
			// The series' message comes back: it keeps the delivery going.
			f.sender.script = []delivery.Response{ok200}
			posted := len(f.sender.requests)
			f.now = f.now.Add(5 * time.Minute)
			steps := f.run(t, msg, messageID)
			if last := steps[len(steps)-1]; last.Outcome != delivery.OutcomeDelivered || len(f.sender.requests) != posted+1 {
				t.Fatalf("the series' message: steps %+v, %d more requests; want it to deliver with one", steps, len(f.sender.requests)-posted)
			}
		})
	}
}

func TestARepublishedNoticeCarriesTheTimeOfTheOutcome(t *testing.T) {
	f := newFixture(t, settings(true, 3), status(410))
	n := &notices{fail: 1}
	f.d.Notifier = n
	m := message()
	decided := f.now
	if _, err := f.d.Deliver(context.Background(), m, "sqs-1"); err == nil {
		t.Fatal("want the notice's failure")
	}
	// The message comes back later and publishes the notice.
	f.now = f.now.Add(30 * time.Second)
	if _, err := f.d.Deliver(context.Background(), m, "sqs-1"); err != nil || len(n.sent) != 1 {
		t.Fatalf("redelivery: %v, notices %+v", err, n.sent)
	}
	if got := n.sent[0].At; !got.Equal(decided) {
		t.Fatalf("notice at %s, want the outcome's time %s", got, decided)
	}
}

func TestASendThatFailsGivesItsRateBack(t *testing.T) {
	for _, send := range []string{"retry", "test", "recover"} {
		t.Run(send, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, settings(true, 3), ok200)
			m := message()
			f.keep(t, m)
			if send == "retry" {
				f.run(t, m, "sqs-1")
			}
			mgr, q := f.manager()
			do := func() error {
				var err error
				switch send {
				case "retry":
					_, _, err = mgr.Retry(ctx, owner, f.hook.ID, m.DeliveryID, "")
				case "test":
					_, _, err = mgr.Test(ctx, owner, f.hook.ID, webhook.DocumentUploaded, "")
				case "recover":
					_, _, err = mgr.Recover(ctx, owner, f.hook.ID, delivery.Window{Since: m.EventTime}, "")
				}
				return err
			}
			f.store.sendMax = 1 // one send left this minute
			q.err = errors.New("sqs down")
			if err := do(); err == nil {
				t.Fatal("a send whose message was not queued succeeded")
			}
			q.err = nil
			if err := do(); err != nil || len(q.sent) != 1 {
				t.Fatalf("the same send once the queue is back: %v, %d queued; want the failed send's rate given back", err, len(q.sent))
			}
		})
	}
}
