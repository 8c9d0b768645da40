package dynamo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/webhook"
)

// reopen is a manual send of m under claim, over prior.
func reopen(m delivery.Message, claim string, prior delivery.Status, limit int) delivery.Reopen {
	now := time.Now().UTC().Truncate(time.Millisecond)
	m.Claim = claim
	return delivery.Reopen{Message: m, Prior: prior, AttemptLimit: limit, At: now,
		ClaimedUntil: now.Add(delivery.LeaseSlack), Expires: now.Add(time.Hour)}
}

// status reads m's delivery.
func status(t *testing.T, s *dynamo.Store, w webhook.Webhook, m delivery.Message) delivery.Status {
	t.Helper()
	tg, err := s.Target(context.Background(), w.Owner, w.ID, m.DeliveryID)
	if err != nil {
		t.Fatal(err)
	}
	return tg.Delivery
}

func TestReopenANeverMadeDelivery(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		w, m := deliveryFixture(t, s)
		m.Test = true
		r := reopen(m, "send_a", delivery.Status{}, 0)
		// The first try commits and its answer is lost: the retry finds
		// its own write.
		in := testenv.NewInjector(testenv.Fault{Operation: "UpdateItem", Times: 1, AfterSend: true, Err: testenv.ConnectionReset{}})
		lossy := dynamo.New(dynamo.NewClient(b.Config(t, in.Middleware)), s.Table())
		if err := lossy.Reopen(ctx, r); err != nil || in.Calls("UpdateItem") != 2 {
			t.Fatalf("reopen after a lost answer: %v (%d tries)", err, in.Calls("UpdateItem"))
		}
		sum, err := s.Delivery(ctx, w.ID, m.DeliveryID)
		attempts, aerr := s.Attempts(ctx, w.ID, m.DeliveryID)
		if err != nil || aerr != nil || sum.State != delivery.StatePending || sum.Claim != "send_a" || sum.Attempts != 0 || !sum.NextAttemptAt.Equal(r.At) ||
			sum.ClaimedUntil.UnixMilli() != r.ClaimedUntil.UnixMilli() || sum.AttemptLimit != 0 || !sum.Test ||
			sum.EventID != m.EventID || sum.EventType != m.EventType || !sum.EventTime.Equal(m.EventTime) || !sum.CreatedAt.Equal(r.At) ||
			len(attempts) != 0 {
			t.Fatalf("reopened: %+v, %v, %v, %v", sum, attempts, err, aerr)
		}
		// Another send that read it missing is too late.
		if err := s.Reopen(ctx, reopen(m, "send_b", delivery.Status{}, 0)); !errors.Is(err, delivery.ErrChanged) {
			t.Fatalf("second reopen: %v, want ErrChanged", err)
		}
		// The message's attempt under the claim can be recorded.
		if _, err := save(ctx, s, attemptRecord(m, "send_a", 1, delivery.StateDelivered, delivery.NoChange)); err != nil {
			t.Fatalf("attempt under the send's claim: %v", err)
		}
		// Once an attempt was made, there is nothing to undo.
		if err := s.Restore(ctx, r); err != nil {
			t.Fatal(err)
		}
		if st := status(t, s, w, m); st.State != delivery.StateDelivered || st.Attempts != 1 {
			t.Fatalf("restore after an attempt changed the delivery: %+v", st)
		}
		// Before any attempt, Restore removes what Reopen made.
		_, m2 := deliveryFixture(t, s)
		m2.WebhookID, m2.Account = w.ID, w.Owner.Account
		r2 := reopen(m2, "send_c", delivery.Status{}, 0)
		if err := s.Reopen(ctx, r2); err != nil {
			t.Fatal(err)
		}
		if err := s.Restore(ctx, r2); err != nil {
			t.Fatal(err)
		}
		if st := status(t, s, w, m2); st.Exists {
			t.Fatalf("restored delivery still stored: %+v", st)
		}
	})
}

func TestReopenAFailedDelivery(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		w, m := deliveryFixture(t, s)
		failed := attemptRecord(m, "msg-a", 1, delivery.StateFailed, delivery.NoChange)
		failed.Reason, failed.Notify = delivery.ReasonExhausted, true
		if _, err := save(ctx, s, failed); err != nil {
			t.Fatal(err)
		}
		// Its notice is not yet sent: a send that read it as sent (or did
		// not look) is refused, and the notice stays owed.
		owed := status(t, s, w, m)
		sent := owed
		sent.NoticePending = false
		if err := s.Reopen(ctx, reopen(m, "send_x", sent, 2)); !errors.Is(err, delivery.ErrChanged) {
			t.Fatalf("reopen with a notice pending: %v, want ErrChanged", err)
		}
		if st := status(t, s, w, m); st != owed || !st.NoticePending {
			t.Fatalf("after a refused reopen: %+v, want %+v", st, owed)
		}
		if err := s.NoticeSent(ctx, w.ID, m.DeliveryID, 1); err != nil {
			t.Fatal(err)
		}
		prior := status(t, s, w, m)
		r := reopen(m, "send_a", prior, 2)
		if err := s.Reopen(ctx, r); err != nil {
			t.Fatal(err)
		}
		sum, err := s.Delivery(ctx, w.ID, m.DeliveryID)
		if err != nil || sum.State != delivery.StatePending || sum.Claim != "send_a" || sum.Attempts != 1 || sum.AttemptLimit != 2 ||
			sum.Reason != "" || sum.NoticePending || !sum.NextAttemptAt.Equal(r.At) || sum.LastStatus != 500 || sum.CreatedAt.Equal(r.At) {
			t.Fatalf("reopened: %+v, %v", sum, err)
		}
		// A send that read the delivery failed is too late now.
		if err := s.Reopen(ctx, reopen(m, "send_b", prior, 2)); !errors.Is(err, delivery.ErrChanged) {
			t.Fatalf("reopen over a stale state: %v, want ErrChanged", err)
		}
		if err := s.Restore(ctx, r); err != nil {
			t.Fatal(err)
		}
		if st := status(t, s, w, m); st != prior {
			t.Fatalf("restored: %+v, want %+v", st, prior)
		}
		// The restored delivery can be sent again.
		if err := s.Reopen(ctx, reopen(m, "send_c", prior, 2)); err != nil {
			t.Fatalf("reopen after a restore: %v", err)
		}
	})
}

func TestReopenAPendingDelivery(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		w, m := deliveryFixture(t, s)
		if _, err := save(ctx, s, attemptRecord(m, "msg-a", 1, delivery.StatePending, delivery.NoChange)); err != nil {
			t.Fatal(err)
		}
		prior := status(t, s, w, m)
		stale := prior
		stale.Claim = "msg-old"
		if err := s.Reopen(ctx, reopen(m, "send_a", stale, 0)); !errors.Is(err, delivery.ErrChanged) {
			t.Fatalf("reopen under another claim: %v, want ErrChanged", err)
		}
		r := reopen(m, "send_b", prior, 0)
		if err := s.Reopen(ctx, r); err != nil {
			t.Fatal(err)
		}
		// The series it took the delivery from is noted, until the send
		// records an attempt.
		if st := status(t, s, w, m); st.State != delivery.StatePending || st.Claim != "send_b" || st.PriorClaim != "msg-a" || st.Attempts != 1 ||
			!st.NextAttemptAt.Equal(r.At) {
			t.Fatalf("reopened: %+v", st)
		}
		// The message queued before the send no longer owns the delivery.
		if _, err := save(ctx, s, attemptRecord(m, "msg-a", 2, delivery.StatePending, delivery.NoChange)); !errors.Is(err, delivery.ErrChanged) {
			t.Fatalf("attempt under the old claim: %v, want ErrChanged", err)
		}
		if err := s.Restore(ctx, r); err != nil {
			t.Fatal(err)
		}
		if st := status(t, s, w, m); st != prior {
			t.Fatalf("restored: %+v, want %+v", st, prior)
		}
		// A send over one that never made its attempt (its lease over)
		// notes the series that did.
		stranded := reopen(m, "send_c", prior, 0)
		if err := s.Reopen(ctx, stranded); err != nil {
			t.Fatal(err)
		}
		over := status(t, s, w, m)
		if err := s.Reopen(ctx, reopen(m, "send_d", over, 0)); err != nil {
			t.Fatal(err)
		}
		if st := status(t, s, w, m); st.Claim != "send_d" || st.PriorClaim != "msg-a" {
			t.Fatalf("a send over an unattempted one: %+v, want msg-a noted", st)
		}
		// The send's first attempt ends it.
		if _, err := save(ctx, s, attemptRecord(m, "send_d", 2, delivery.StatePending, delivery.NoChange)); err != nil {
			t.Fatal(err)
		}
		if st := status(t, s, w, m); st.Claim != "send_d" || st.PriorClaim != "" || st.Attempts != 2 {
			t.Fatalf("after the send's attempt: %+v, want no series noted", st)
		}
	})
}
