package worker_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/metrics"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
	"github.com/docproc/webhooks/internal/worker"
)

// fanoutPorts are the fan-out's ports (delivery.EventLog, Subscribers and
// Queue, and worker.Rejects) in memory. Every call takes latency, as a
// call to DynamoDB or SQS does; Send takes latency per 10 messages, as
// queue.Queue makes one SendMessageBatch call per 10. Events of the
// accounts in down fail to be kept, as in a DynamoDB outage.
type fanoutPorts struct {
	latency time.Duration
	hooks   int // active webhooks of each account, all taking document.uploaded

	mu        sync.Mutex
	down      map[string]bool // accounts whose events cannot be kept
	asideDown bool            // SetAside fails
	kept      map[string]bool // owner/event id
	sent      int
	setAway   []string // bodies set aside
}

func newFanoutPorts(latency time.Duration, hooks int) *fanoutPorts {
	return &fanoutPorts{latency: latency, hooks: hooks, down: map[string]bool{}, kept: map[string]bool{}}
}

func (p *fanoutPorts) Keep(_ context.Context, ev delivery.Event, _ time.Time) (string, error) {
	time.Sleep(p.latency)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down[ev.Owner.Account] {
		return "", fmt.Errorf("injected: the table is unavailable for %s", ev.Owner)
	}
	p.kept[ev.Owner.String()+"/"+ev.ID] = true
	return ev.SourceID, nil
}

func (p *fanoutPorts) Webhooks(_ context.Context, owner tenant.Tenant) ([]webhook.Webhook, error) {
	time.Sleep(p.latency)
	var hooks []webhook.Webhook
	for i := range p.hooks {
		hooks = append(hooks, webhook.Webhook{ID: fmt.Sprintf("wh_%s_%d", owner.Account, i), Owner: owner,
			Settings: webhook.Settings{URL: "https://x.example.com", Events: []webhook.EventType{webhook.DocumentUploaded}, IsActive: true}})
	}
	return hooks, nil
}

func (p *fanoutPorts) Send(_ context.Context, msgs []delivery.Message) error {
	time.Sleep(p.latency * time.Duration((len(msgs)+9)/10))
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent += len(msgs)
	return nil
}

// SendLater is not used by the fan-out: its messages go at once.
func (p *fanoutPorts) SendLater(context.Context, delivery.Message, time.Duration) error {
	return errors.New("the fan-out parks nothing")
}

func (p *fanoutPorts) SetAside(_ context.Context, body, _ string) error {
	time.Sleep(p.latency)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.asideDown {
		return errors.New("injected: the dead-letter queue is unavailable")
	}
	p.setAway = append(p.setAway, body)
	return nil
}

// delays is a worker.Delayer that keeps the waits it is asked for, by
// receipt.
type delays struct {
	mu   sync.Mutex
	wait map[string]time.Duration
}

func (d *delays) Delay(_ context.Context, receipt string, wait time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.wait == nil {
		d.wait = map[string]time.Duration{}
	}
	d.wait[receipt] = wait
	return nil
}

// newFanout is the fan-out handler over p, writing its metrics to out and
// holding failed events back with a delays.
func newFanout(p *fanoutPorts, out *bytes.Buffer) (*worker.FanoutHandler, *delays) {
	d := &delays{}
	return &worker.FanoutHandler{Fanout: &delivery.Fanout{Subscribers: p, Events: p, Queue: p}, Rejects: p, Queue: d,
		Log: slog.New(slog.DiscardHandler), Metrics: metrics.New(out, "Webhooks/test")}, d
}

// eventRecord is an SQS record of the fan-out queue holding a
// document.uploaded event of account, with id, received for the receive-th
// time.
func eventRecord(account, id string, receive int) events.SQSMessage {
	detail := fmt.Sprintf(`{"account":%q,"livemode":false,"id":%q,"data":{"document_id":"doc_1"}}`, account, id)
	body := fmt.Sprintf(`{"version":"0","id":"src-%s","detail-type":"document.uploaded","source":%q,"account":"123456789012",`+
		`"time":"2026-12-01T09:00:00Z","region":"us-east-1","resources":[],"detail":%s}`, id, delivery.Source, detail)
	return events.SQSMessage{MessageId: "m-" + id, ReceiptHandle: "rh-" + id, Body: body,
		Attributes: map[string]string{"ApproximateReceiveCount": fmt.Sprint(receive)}}
}

// counted sums, over the EMF lines in out, the values of metric.
func counted(t *testing.T, out *bytes.Buffer, metric string) (sum int, found bool) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(out.Bytes()))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("metrics line %s: %v", sc.Bytes(), err)
		}
		if v, ok := line[metric].(float64); ok {
			sum, found = sum+int(v), true
		}
	}
	return sum, found
}

// TestFanoutBatchRunsEventsConcurrently: with every call to DynamoDB and
// SQS taking 50 ms, a batch of 10 events for 16 endpoints each takes less
// than 3 times as long as a batch of one such event. One event after
// another, it would take 10 times as long; at once, about as long. The
// bound tolerates twice one event's time (200 ms or more) of delay from
// the machine's scheduling and the race detector, in the best of three
// runs of the batch of 10.
func TestFanoutBatchRunsEventsConcurrently(t *testing.T) {
	const latency, endpoints = 50 * time.Millisecond, 16
	run := 0
	best := func(n int) time.Duration {
		fastest := time.Duration(1<<63 - 1)
		for range 3 {
			run++
			p := newFanoutPorts(latency, endpoints)
			var out bytes.Buffer
			h, _ := newFanout(p, &out)
			var batch events.SQSEvent
			for i := range n {
				batch.Records = append(batch.Records, eventRecord(fmt.Sprintf("acct_%d", i), fmt.Sprintf("evt_%d_%d", run, i), 1))
			}
			start := time.Now()
			resp, err := h.Handle(context.Background(), batch)
			took := time.Since(start)
			if err != nil || len(resp.BatchItemFailures) != 0 || p.sent != n*endpoints {
				t.Fatalf("batch of %d: %+v, %v; %d messages sent, want %d", n, resp, err, p.sent, n*endpoints)
			}
			fastest = min(fastest, took)
		}
		return fastest
	}
	one, ten := best(1), best(10)
	t.Logf("one event %v, a batch of 10 %v (%.2f times), each call %v, %d endpoints an event", one, ten, float64(ten)/float64(one), latency, endpoints)
	if ten >= 3*one {
		t.Errorf("a batch of 10 events took %v, %.2f times a batch of one (%v); want less than 3 times", ten, float64(ten)/float64(one), one)
	}
}

// TestFanoutReportsOnlyTheEventsThatFailed: in a batch handled at once,
// batchItemFailures lists exactly the events whose fan-out failed, in the
// batch's order; the others are queued or set aside, and counted.
func TestFanoutReportsOnlyTheEventsThatFailed(t *testing.T) {
	p := newFanoutPorts(5*time.Millisecond, 3)
	p.down["acct_down"] = true
	var out bytes.Buffer
	batch := events.SQSEvent{Records: []events.SQSMessage{
		eventRecord("acct_a", "evt_1", 1), eventRecord("acct_down", "evt_2", 1), eventRecord("acct_b", "evt_3", 2),
		{MessageId: "m-malformed", ReceiptHandle: "rh-malformed", Body: `{"not":"an event"}`},
		eventRecord("acct_down", "evt_5", 4), eventRecord("acct_c", "evt_6", 1),
	}}
	h, _ := newFanout(p, &out)
	resp, err := h.Handle(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if want := []string{"m-evt_2", "m-evt_5"}; fmt.Sprint(failed) != fmt.Sprint(want) {
		t.Errorf("batchItemFailures %v; want %v", failed, want)
	}
	if p.sent != 9 || len(p.setAway) != 1 {
		t.Errorf("%d messages queued, %d events set aside; want 9 (3 events for 3 endpoints) and 1", p.sent, len(p.setAway))
	}
	if n, _ := counted(t, &out, worker.MetricDeliveriesQueued); n != 9 {
		t.Errorf("%s %d; want 9", worker.MetricDeliveriesQueued, n)
	}
	if n, _ := counted(t, &out, worker.MetricEventsRejected); n != 1 {
		t.Errorf("%s %d; want 1", worker.MetricEventsRejected, n)
	}
}

// TestFanoutFailureBacksOff: an event whose fan-out fails (the table is
// down, or the dead-letter queue for one that must be set aside) is
// reported failed, and held back as a failed delivery is: 30 s after its
// first receive, doubling with each receive up to 15 minutes. An event
// fanned out is not held back.
func TestFanoutFailureBacksOff(t *testing.T) {
	p := newFanoutPorts(0, 1)
	p.down["acct_down"], p.asideDown = true, true
	var out bytes.Buffer
	h, d := newFanout(p, &out)
	batch := events.SQSEvent{Records: []events.SQSMessage{
		eventRecord("acct_down", "evt_first", 1), eventRecord("acct_down", "evt_fourth", 4),
		eventRecord("acct_down", "evt_tenth", 10), eventRecord("acct_up", "evt_ok", 3),
		{MessageId: "m-malformed", ReceiptHandle: "rh-malformed", Body: `{"not":"an event"}`,
			Attributes: map[string]string{"ApproximateReceiveCount": "2"}},
	}}
	resp, err := h.Handle(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if want := []string{"m-evt_first", "m-evt_fourth", "m-evt_tenth", "m-malformed"}; fmt.Sprint(failed) != fmt.Sprint(want) {
		t.Errorf("batchItemFailures %v; want %v", failed, want)
	}
	want := map[string]time.Duration{"rh-evt_first": 30 * time.Second, "rh-evt_fourth": 4 * time.Minute,
		"rh-evt_tenth": 15 * time.Minute, "rh-malformed": time.Minute}
	if fmt.Sprint(d.wait) != fmt.Sprint(want) {
		t.Errorf("visibility set to %v; want %v", d.wait, want)
	}
}
