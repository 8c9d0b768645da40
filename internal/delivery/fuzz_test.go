package delivery_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/docproc/webhooks/internal/delivery"
)

// FuzzParseEventBridge holds ParseEventBridge to its contract on any
// input: it never panics; an event it accepts has a payload that is valid
// JSON with the documented members and carries the data's bytes as they
// came; one it refuses is refused with one of the three sentinels, so the
// fan-out can always set it aside with a reason.
func FuzzParseEventBridge(f *testing.F) {
	f.Add(bridgeEvent("document.uploaded", `{"account":"acct_1","livemode":false,"data":{"a":"<&>"}}`))
	f.Add(bridgeEvent("document.processing.failed", `{"account":"acct_1","livemode":true,"id":"evt_1","data":{}}`))
	f.Add(bridgeEvent("document.deleted", `{}`))
	f.Add([]byte(`{"id":"x","source":"docproc.documents","detail-type":"document.uploaded","time":"2026-12-01T00:00:00Z","detail":{"account":"a","livemode":false,"data":{"x":[1,2,{"y":null}]}}}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := delivery.ParseEventBridge(body)
		if err != nil {
			if !errors.Is(err, delivery.ErrMalformed) && !errors.Is(err, delivery.ErrUnknownType) && !errors.Is(err, delivery.ErrTooLarge) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		var p struct {
			ID        string          `json:"id"`
			Type      string          `json:"type"`
			Timestamp string          `json:"timestamp"`
			Livemode  *bool           `json:"livemode"`
			Data      json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(ev.Payload, &p); err != nil || p.ID != ev.ID || p.Type != string(ev.Type) || p.Livemode == nil || len(p.Data) == 0 {
			t.Fatalf("payload %q does not decode to the event (%v)", ev.Payload, err)
		}
		if !bytes.HasSuffix(ev.Payload, append(append([]byte(nil), p.Data...), '}')) {
			t.Fatalf("payload %q does not end with the data as published", ev.Payload)
		}
	})
}
