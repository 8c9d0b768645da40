package worker_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/metrics"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/worker"
)

// storeDown is a delivery.Store whose every call fails, as in a DynamoDB
// outage.
type storeDown struct{}

var errStoreDown = errors.New("injected: the table is unavailable")

func (storeDown) Target(context.Context, tenant.Tenant, string, string) (delivery.Target, error) {
	return delivery.Target{}, errStoreDown
}

func (storeDown) Begin(context.Context, delivery.Begin) error { return errStoreDown }

func (storeDown) Save(context.Context, delivery.Record) (bool, error) { return false, errStoreDown }

func (storeDown) NoticeSent(context.Context, string, string, int) error { return errStoreDown }

// TestDeliveryStepErrorsAreCounted: a delivery message whose step fails
// before any attempt (the store is down) comes back, and is counted in
// MetricDeliveryStepErrors, which template.yaml alarms on; a batch without
// such a failure counts none.
func TestDeliveryStepErrorsAreCounted(t *testing.T) {
	var out bytes.Buffer
	h := &worker.DeliveryHandler{Deliverer: &delivery.Deliverer{Store: storeDown{}}, Queue: &delays{},
		Log: slog.New(slog.DiscardHandler), Metrics: metrics.New(&out, "Webhooks/test")}
	msg := `{"delivery_id":"msg_1","event_id":"evt_1","event_type":"document.uploaded","account":"acct_1","mode":"test","webhook_id":"wh_1","payload":"e30="}`
	batch := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "m-1", ReceiptHandle: "rh-1", Body: msg, Attributes: map[string]string{"ApproximateReceiveCount": "1"}},
		{MessageId: "m-2", ReceiptHandle: "rh-2", Body: msg, Attributes: map[string]string{"ApproximateReceiveCount": "3"}},
	}}
	resp, err := h.Handle(context.Background(), batch)
	if err != nil || len(resp.BatchItemFailures) != 2 {
		t.Fatalf("%+v, %v; want both messages back", resp, err)
	}
	if n, _ := counted(t, &out, worker.MetricDeliveryStepErrors); n != 2 {
		t.Errorf("%s %d; want 2\n%s", worker.MetricDeliveryStepErrors, n, out.String())
	}
}

// TestFanoutErrorsAreCounted: every event of a batch that comes back (its
// fan-out failed, or setting it aside did) is counted in
// MetricFanoutErrors, which template.yaml alarms on; a batch without
// failures counts 0.
func TestFanoutErrorsAreCounted(t *testing.T) {
	p := newFanoutPorts(0, 2)
	p.down["acct_down"], p.asideDown = true, true
	var out bytes.Buffer
	h, _ := newFanout(p, &out)
	batch := events.SQSEvent{Records: []events.SQSMessage{
		eventRecord("acct_down", "evt_1", 1), eventRecord("acct_up", "evt_2", 1), eventRecord("acct_down", "evt_3", 2),
		{MessageId: "m-malformed", ReceiptHandle: "rh-malformed", Body: `{"not":"an event"}`},
	}}
	if _, err := h.Handle(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if n, _ := counted(t, &out, worker.MetricFanoutErrors); n != 3 {
		t.Errorf("%s %d; want 3\n%s", worker.MetricFanoutErrors, n, out.String())
	}
	out.Reset()
	if _, err := h.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{eventRecord("acct_up", "evt_4", 1)}}); err != nil {
		t.Fatal(err)
	}
	if n, found := counted(t, &out, worker.MetricFanoutErrors); n != 0 || !found {
		t.Errorf("%s %d (written: %v); want 0, written", worker.MetricFanoutErrors, n, found)
	}
}
