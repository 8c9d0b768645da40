package delivery_test

import (
	"context"
	"errors"
	"testing"

	"github.com/docproc/webhooks/internal/webhook"
)

// An acting request runs once per idempotency key: a failure is not kept,
// so the same key runs again; a success is replayed, decoded as it was
// returned; and the key cannot be reused for another request.
func TestAnIdempotencyKeyRunsASendOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, settings(true, 3), ok200)
	mgr, q := f.manager()
	q.err = errors.New("sqs down")
	if _, replayed, err := mgr.Test(ctx, owner, f.hook.ID, webhook.DocumentUploaded, "key-1"); err == nil || replayed {
		t.Fatalf("a send whose message was not queued: replayed %v, %v; want an error", replayed, err)
	}
	q.err = nil
	first, replayed, err := mgr.Test(ctx, owner, f.hook.ID, webhook.DocumentUploaded, "key-1")
	if err != nil || replayed || len(q.sent) != 1 {
		t.Fatalf("the same key after the failure: replayed %v, %v, %d queued; want it run", replayed, err, len(q.sent))
	}
	again, replayed, err := mgr.Test(ctx, owner, f.hook.ID, webhook.DocumentUploaded, "key-1")
	if err != nil || !replayed || len(q.sent) != 1 {
		t.Fatalf("the same key again: replayed %v, %v, %d queued; want the first result replayed", replayed, err, len(q.sent))
	}
	if again.ID != first.ID || !again.NextAttemptAt.Equal(first.NextAttemptAt) || again.State != first.State || !again.Test {
		t.Fatalf("replayed %+v, want the first result %+v", again, first)
	}
	if _, _, err := mgr.Retry(ctx, owner, f.hook.ID, first.ID, "key-1"); err == nil || len(q.sent) != 1 {
		t.Fatalf("the key reused for a retry: %v, %d queued; want it refused", err, len(q.sent))
	}
}
