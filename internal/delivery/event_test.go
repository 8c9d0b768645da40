package delivery_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// bridgeEvent is an EventBridge event as the rule hands it to SQS.
func bridgeEvent(detailType, detail string) []byte {
	return fmt.Appendf(nil, `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":%q,`+
		`"source":"docproc.documents","account":"123456789012","time":"2026-12-01T09:00:00Z","region":"us-east-1",`+
		`"resources":[],"detail":%s}`, detailType, detail)
}

func TestParseEventBridgeBuildsThePayloadOnce(t *testing.T) {
	data := `{"document_id":"doc_1","name":"<a&b>","n":1.50}`
	ev, err := delivery.ParseEventBridge(bridgeEvent("document.uploaded",
		`{"account":"acct_1","livemode":true,"id":"evt_abc","data":`+data+`}`))
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "evt_abc" || ev.Type != webhook.DocumentUploaded || ev.Owner != (tenant.Tenant{Account: "acct_1", Mode: tenant.Live}) {
		t.Fatalf("event %+v", ev)
	}
	want := `{"id":"evt_abc","type":"document.uploaded","timestamp":"2026-12-01T09:00:00Z","livemode":true,"data":` + data + `}`
	if string(ev.Payload) != want {
		t.Fatalf("payload\n got %s\nwant %s", ev.Payload, want)
	}
}

func TestEventIDsAreMadeOncePerPublish(t *testing.T) {
	body := bridgeEvent("document.uploaded", `{"account":"acct_1","livemode":false,"data":{}}`)
	a, errA := delivery.ParseEventBridge(body)
	b, errB := delivery.ParseEventBridge(body)
	if errA != nil || errB != nil || a.ID != b.ID || !strings.HasPrefix(a.ID, delivery.EventIDPrefix) {
		t.Fatalf("ids %q, %q (%v, %v)", a.ID, b.ID, errA, errB)
	}
	other := strings.Replace(string(body), "6a7e8feb", "00000000", 1)
	c, err := delivery.ParseEventBridge([]byte(other))
	if err != nil || c.ID == a.ID {
		t.Fatalf("another publish got id %q (%v)", c.ID, err)
	}
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	if delivery.DeliveryID("evt_1", "wh_1", at) == delivery.DeliveryID("evt_1", "wh_2", at) {
		t.Fatal("two endpoints share a delivery id")
	}
}

func TestParseEventBridgeSetsAsideBadEvents(t *testing.T) {
	big := `{"account":"acct_1","livemode":false,"data":{"x":"` + strings.Repeat("a", delivery.MaxDetailBytes) + `"}}`
	for name, tc := range map[string]struct {
		body []byte
		want error
	}{
		"not json":         {[]byte("nope"), delivery.ErrMalformed},
		"unknown type":     {bridgeEvent("document.deleted", `{"account":"acct_1","livemode":false,"data":{}}`), delivery.ErrUnknownType},
		"too large":        {bridgeEvent("document.uploaded", big), delivery.ErrTooLarge},
		"no account":       {bridgeEvent("document.uploaded", `{"livemode":false,"data":{}}`), delivery.ErrMalformed},
		"no livemode":      {bridgeEvent("document.uploaded", `{"account":"acct_1","data":{}}`), delivery.ErrMalformed},
		"data not object":  {bridgeEvent("document.uploaded", `{"account":"acct_1","livemode":false,"data":[1]}`), delivery.ErrMalformed},
		"unknown member":   {bridgeEvent("document.uploaded", `{"account":"acct_1","livemode":false,"data":{},"x":1}`), delivery.ErrMalformed},
		"bad account":      {bridgeEvent("document.uploaded", `{"account":"a b","livemode":false,"data":{}}`), delivery.ErrMalformed},
		"other source":     {[]byte(strings.Replace(string(bridgeEvent("document.uploaded", `{}`)), "docproc.documents", "x", 1)), delivery.ErrMalformed},
		"livemode string":  {bridgeEvent("document.uploaded", `{"account":"acct_1","livemode":"no","data":{}}`), delivery.ErrMalformed},
		"id too long":      {bridgeEvent("document.uploaded", `{"account":"acct_1","livemode":false,"id":"`+strings.Repeat("i", 200)+`","data":{}}`), delivery.ErrMalformed},
		"detail not given": {bridgeEvent("document.uploaded", `null`), delivery.ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := delivery.ParseEventBridge(tc.body)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestFanoutQueuesActiveSubscribersOnce(t *testing.T) {
	hook := func(id string, o tenant.Tenant, active bool, events ...webhook.EventType) webhook.Webhook {
		return webhook.Webhook{ID: id, Owner: o, Settings: webhook.Settings{URL: "https://x.example.com", Events: events, IsActive: active}}
	}
	other := tenant.Tenant{Account: "acct_2", Mode: tenant.Test}
	live := tenant.Tenant{Account: "acct_1", Mode: tenant.Live}
	store := newMemStore(
		hook("wh_yes", owner, true, webhook.DocumentUploaded, webhook.DocumentProcessingFailed),
		hook("wh_inactive", owner, false, webhook.DocumentUploaded),
		hook("wh_other_type", owner, true, webhook.DocumentProcessingFailed),
		hook("wh_other_account", other, true, webhook.DocumentUploaded),
		hook("wh_live", live, true, webhook.DocumentUploaded),
	)
	q := &queueFake{}
	f := &delivery.Fanout{Subscribers: store, Events: store, Queue: q}
	ev, err := delivery.ParseEventBridge(bridgeEvent("document.uploaded", `{"account":"acct_1","livemode":false,"id":"evt_9","data":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.Publish(context.Background(), ev)
	if err != nil || out.Queued != 1 || len(q.sent) != 1 || q.sent[0].WebhookID != "wh_yes" {
		t.Fatalf("fan-out: %+v, %v, sent %+v", out, err, q.sent)
	}
	var m delivery.Message
	b, _ := json.Marshal(q.sent[0])
	if err := json.Unmarshal(b, &m); err != nil || string(m.Payload) != string(ev.Payload) {
		t.Fatalf("the message does not carry the payload's bytes: %s", b)
	}
	// The same publish again (a redelivery) queues again; a second
	// publish of the id queues nothing.
	if out, err := f.Publish(context.Background(), ev); err != nil || out.Queued != 1 {
		t.Fatalf("redelivery: %+v, %v", out, err)
	}
	ev.SourceID = "another-publish"
	if out, err := f.Publish(context.Background(), ev); err != nil || !out.Duplicate || out.Queued != 0 {
		t.Fatalf("second publish: %+v, %v", out, err)
	}
}
