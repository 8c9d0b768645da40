package sim

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
)

// newTestQueue is an empty queue on a clock at epoch.
func newTestQueue() (*loop, *sqsQueue) {
	l := newLoop(epoch)
	return l, newQueue(l, Latencies{}, &Calls{}, &QueueStats{})
}

// msgTo is a message for endpoint webhookID.
func msgTo(webhookID string, n int) delivery.Message {
	return delivery.Message{DeliveryID: fmt.Sprintf("msg_%s_%d", webhookID, n), WebhookID: webhookID}
}

// runTo runs l's events until d after epoch.
func runTo(l *loop, d time.Duration) {
	l.runWhile(func(next time.Time) bool { return !next.After(epoch.Add(d)) })
}

func TestDelayedMessagesWaitWholeSeconds(t *testing.T) {
	l, q := newTestQueue()
	if err := q.SendLater(context.Background(), msgTo("wh_a", 1), 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := q.SendLater(context.Background(), msgTo("wh_a", 2), delivery.MaxDelay+time.Second); err == nil {
		t.Error("a delay over 15 minutes was taken")
	}
	runTo(l, 1999*time.Millisecond)
	if got := q.receive(MaxReceive); len(got) != 0 {
		t.Fatalf("received %d messages 1.999 s after a send delayed 1.5 s, which SQS delays 2 s", len(got))
	}
	runTo(l, 2*time.Second)
	got := q.receive(MaxReceive)
	if len(got) != 1 || got[0].body.DeliveryID != "msg_wh_a_1" {
		t.Fatalf("received %v at 2 s, want the delayed message", got)
	}
	if q.calls.SQS.SendMessage != 1 || q.stats.Delayed != 1 {
		t.Errorf("counted %d SendMessage and a peak of %d delayed, want 1 and 1", q.calls.SQS.SendMessage, q.stats.Delayed)
	}
}

func TestFailedStepComesBackAfterItsVisibility(t *testing.T) {
	l, q := newTestQueue()
	_ = q.Send(context.Background(), []delivery.Message{msgTo("wh_a", 1)})
	msg := q.receive(MaxReceive)[0]
	q.delay(context.Background(), msg, 30*time.Second)
	runTo(l, 29*time.Second)
	if got := q.receive(MaxReceive); len(got) != 0 || q.inFlight != 1 {
		t.Fatalf("29 s into a 30 s visibility: received %d, %d in flight; want 0 and 1", len(got), q.inFlight)
	}
	runTo(l, 30*time.Second)
	if got := q.receive(MaxReceive); len(got) != 1 || got[0].receives != 2 {
		t.Fatalf("after its visibility: received %v, want the message on its second receive", got)
	}
}

func TestFairQueueServesQuietGroupsFirst(t *testing.T) {
	_, q := newTestQueue()
	ctx := context.Background()
	// A noisy group: 40 of its messages in flight, all there are.
	for i := range 45 {
		_ = q.Send(ctx, []delivery.Message{msgTo("wh_noisy", i)})
	}
	for range 4 {
		q.receive(MaxReceive)
	}
	// Quiet groups' messages, sent after the noisy group's last 5.
	_ = q.Send(ctx, []delivery.Message{msgTo("wh_quiet1", 1), msgTo("wh_quiet2", 1)})
	got := q.receive(MaxReceive)
	if len(got) != 7 {
		t.Fatalf("received %d messages, want 7 (2 quiet, then the noisy group's 5)", len(got))
	}
	if q.stats.NoisyPassed != 1 {
		t.Errorf("counted %d receives that passed a noisy group over, want 1", q.stats.NoisyPassed)
	}
	for i, want := range []string{"wh_quiet1", "wh_quiet2", "wh_noisy"} {
		if got[i].body.WebhookID != want {
			t.Errorf("message %d is %s's, want %s's: a quiet group's messages come before a noisy one's", i, got[i].body.WebhookID, want)
		}
	}
}

func TestQuietQueueIsOldestFirst(t *testing.T) {
	_, q := newTestQueue()
	ctx := context.Background()
	_ = q.Send(ctx, []delivery.Message{msgTo("wh_a", 1), msgTo("wh_a", 2), msgTo("wh_b", 1)})
	got := q.receive(2)
	if len(got) != 2 || got[0].body.DeliveryID != "msg_wh_a_1" || got[1].body.DeliveryID != "msg_wh_a_2" {
		t.Fatalf("received %v, want wh_a's two messages, the oldest, first", got)
	}
}

func TestReceivesStopAtTheInFlightLimit(t *testing.T) {
	_, q := newTestQueue()
	_ = q.Send(context.Background(), []delivery.Message{msgTo("wh_a", 1)})
	q.inFlight = MaxInFlight
	if got := q.receive(MaxReceive); len(got) != 0 || q.calls.SQS.OverLimit != 1 {
		t.Fatalf("at %d in flight: received %d, counted %d OverLimit; want 0 and 1", MaxInFlight, len(got), q.calls.SQS.OverLimit)
	}
}
