package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/testenv"
)

func TestManualSendsPerMinute(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		minuteStart := time.Now().UTC().Truncate(time.Minute)
		now, minuteEnd := minuteStart.Add(20*time.Second), minuteStart.Add(time.Minute)
		take := func(s *dynamo.Store, webhookID string, n int, at time.Time, want int, wantReset time.Time) {
			t.Helper()
			got, reset, err := s.Take(ctx, tenant.Tenant{Account: "acct_1", Mode: tenant.Test}, webhookID, n, at)
			if err != nil || got != want || !reset.Equal(wantReset) {
				t.Fatalf("take %d of %s at %s: %d (reset %s), %v; want %d (reset %s)", n, webhookID, at, got, reset, err, want, wantReset)
			}
		}
		// The first try commits and its answer is lost: the retry finds its
		// own write, and counts it once.
		in := testenv.NewInjector(testenv.Fault{Operation: "UpdateItem", Times: 1, AfterSend: true, Err: testenv.ConnectionReset{}})
		lossy := dynamo.New(dynamo.NewClient(b.Config(t, in.Middleware)), s.Table())
		take(lossy, "wh_a", delivery.SendsPerMinute-60, now, delivery.SendsPerMinute-60, minuteEnd)
		if n := in.Calls("UpdateItem"); n != 2 {
			t.Fatalf("%d tries of the lossy take, want 2", n)
		}
		take(s, "wh_a", 10, now.Add(30*time.Second), 10, minuteEnd)
		take(s, "wh_a", 100, now, 50, minuteEnd) // what is left
		take(s, "wh_a", 1, now, 0, minuteEnd)
		take(s, "wh_b", 5, now, 5, minuteEnd)                                      // another webhook's count
		take(s, "wh_a", 5, now.Add(40*time.Second), 5, minuteEnd.Add(time.Minute)) // the next minute
	})
}
