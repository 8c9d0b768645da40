package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/dev/testenv"
)

// TestEventsRoundTrip checks that every fixture is a payload 2.0 event with
// no misspelt or stray fields: decoding and re-encoding keeps every field.
func TestEventsRoundTrip(t *testing.T) {
	for name, raw := range testenv.EventFiles(t) {
		var ev events.APIGatewayV2HTTPRequest
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if ev.Version != "2.0" || ev.RequestContext.HTTP.Method == "" || ev.RawPath == "" {
			t.Errorf("%s: not a payload 2.0 HTTP API event", name)
		}
		if err := testenv.SameAfterRoundTrip(raw, ev); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
