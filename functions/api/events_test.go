package main

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/testenv"
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
		again, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var want, got any
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(again, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(pruneEmpty(want), pruneEmpty(got)) {
			t.Errorf("%s: fields lost in a round trip:\nfile %v\n got %v", name, want, got)
		}
	}
}

// pruneEmpty drops empty strings, maps and false values that the events
// package omits or adds, so the comparison is about content.
func pruneEmpty(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			e = pruneEmpty(e)
			if e == nil || e == "" || e == false || e == float64(0) {
				continue
			}
			if m, ok := e.(map[string]any); ok && len(m) == 0 {
				continue
			}
			out[k] = e
		}
		return out
	default:
		return v
	}
}
