package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// fanoutOwner owns the events and webhooks of the fan-out's tests.
var fanoutOwner = tenant.Tenant{Account: "acct_fanout", Mode: tenant.Test}

// slowPorts are the fan-out's ports (delivery.EventLog, Subscribers and
// Queue) in memory, each call taking latency as a call to DynamoDB or SQS
// does. Send takes latency per 10 messages, as queue.Queue makes one
// SendMessageBatch call per 10 messages, one after another. sendErr, when
// set, fails every Send.
type slowPorts struct {
	latency time.Duration
	hooks   []webhook.Webhook
	sendErr error

	mu    sync.Mutex
	kept  map[string]string // event id -> source id of the first publish
	sent  []delivery.Message
	sends int // Send calls
}

// newSlowPorts returns ports whose owner has n active webhooks that take
// document.uploaded.
func newSlowPorts(latency time.Duration, n int) *slowPorts {
	p := &slowPorts{latency: latency, kept: map[string]string{}}
	for i := range n {
		p.hooks = append(p.hooks, webhook.Webhook{ID: fmt.Sprintf("wh_%03d", i), Owner: fanoutOwner,
			Settings: webhook.Settings{URL: "https://x.example.com", Events: []webhook.EventType{webhook.DocumentUploaded}, IsActive: true}})
	}
	return p
}

// pause waits d, or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func (p *slowPorts) Keep(ctx context.Context, ev delivery.Event, _ time.Time) (string, error) {
	if err := pause(ctx, p.latency); err != nil {
		return "", err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if first, ok := p.kept[ev.ID]; ok {
		return first, nil
	}
	p.kept[ev.ID] = ev.SourceID
	return ev.SourceID, nil
}

func (p *slowPorts) Webhooks(ctx context.Context, owner tenant.Tenant) ([]webhook.Webhook, error) {
	if err := pause(ctx, p.latency); err != nil {
		return nil, err
	}
	if owner != fanoutOwner {
		return nil, nil
	}
	return p.hooks, nil
}

// SendLater is not used by the fan-out: its messages go at once.
func (p *slowPorts) SendLater(context.Context, delivery.Message, time.Duration) error {
	return errors.New("the fan-out parks nothing")
}

func (p *slowPorts) Send(ctx context.Context, msgs []delivery.Message) error {
	if err := pause(ctx, p.latency*time.Duration((len(msgs)+9)/10)); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sends++
	if p.sendErr != nil {
		return p.sendErr
	}
	p.sent = append(p.sent, msgs...)
	return nil
}

// uploaded is a document.uploaded event of fanoutOwner with id.
func uploaded(t *testing.T, id string) delivery.Event {
	t.Helper()
	ev, err := delivery.ParseEventBridge(bridgeEvent("document.uploaded",
		fmt.Sprintf(`{"account":%q,"livemode":false,"id":%q,"data":{}}`, fanoutOwner.Account, id)))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestPublishTimeGrowsSublinearlyWithEndpoints: with every call to a port
// taking 50 ms (each SendMessageBatch of 10 messages too), an event for
// 100 endpoints (10 SendMessageBatch calls) takes less than twice as long
// as an event for one. One after another, the calls would take 3 × 50 ms
// for one endpoint and 12 × 50 ms for 100, 4 times as long; made at once
// where they can be, 2 × 50 ms each. The bound tolerates 100 ms of delay
// (the machine's scheduling, the race detector) in the best of three runs
// of the 100-endpoint event.
func TestPublishTimeGrowsSublinearlyWithEndpoints(t *testing.T) {
	const latency = 50 * time.Millisecond
	best := func(endpoints int) time.Duration {
		p := newSlowPorts(latency, endpoints)
		f := &delivery.Fanout{Subscribers: p, Events: p, Queue: p}
		fastest := time.Duration(1<<63 - 1)
		for run := range 3 {
			start := time.Now()
			out, err := f.Publish(context.Background(), uploaded(t, fmt.Sprintf("evt_%d_%d", endpoints, run)))
			took := time.Since(start)
			if err != nil || out.Queued != endpoints {
				t.Fatalf("%d endpoints: %+v, %v", endpoints, out, err)
			}
			fastest = min(fastest, took)
		}
		return fastest
	}
	one, hundred := best(1), best(100)
	t.Logf("one endpoint %v, 100 endpoints %v (%.2f times), each call %v", one, hundred, float64(hundred)/float64(one), latency)
	if hundred >= 2*one {
		t.Errorf("an event for 100 endpoints took %v, %.2f times one for 1 endpoint (%v); want less than 2 times",
			hundred, float64(hundred)/float64(one), one)
	}
}

// TestPublishQueuesEveryEndpointOnce: the messages of an event for 95
// endpoints, sent in concurrent calls, are each queued once, and a failed
// call fails the publish, so that the event comes back.
func TestPublishQueuesEveryEndpointOnce(t *testing.T) {
	p := newSlowPorts(0, 95)
	f := &delivery.Fanout{Subscribers: p, Events: p, Queue: p}
	out, err := f.Publish(context.Background(), uploaded(t, "evt_once"))
	if err != nil || out.Queued != 95 {
		t.Fatalf("publish: %+v, %v", out, err)
	}
	var got, want []string
	for _, m := range p.sent {
		got = append(got, m.WebhookID)
	}
	for _, w := range p.hooks {
		want = append(want, w.ID)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("queued to %v\nwant %v", got, want)
	}
	if p.sends != 10 {
		t.Errorf("%d Send calls for 95 messages; want 10, one per 10 messages", p.sends)
	}

	failing := newSlowPorts(0, 95)
	failing.sendErr = errors.New("injected: SQS unavailable")
	f = &delivery.Fanout{Subscribers: failing, Events: failing, Queue: failing}
	if _, err := f.Publish(context.Background(), uploaded(t, "evt_fails")); !errors.Is(err, failing.sendErr) {
		t.Errorf("publish with failing sends: %v; want %v", err, failing.sendErr)
	}
}
