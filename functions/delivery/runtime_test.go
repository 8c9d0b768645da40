package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/secrets"
	"github.com/docproc/webhooks/internal/webhook"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// post is one request the receiver got.
type post struct {
	method, path string
	header       http.Header
	body         []byte
}

// receiver is a local HTTPS endpoint that records what it gets.
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	posts []post
}

// newReceiver starts a TLS receiver on 127.0.0.1 that answers 204.
func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{}
	r.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.posts = append(r.posts, post{method: req.Method, path: req.URL.Path, header: req.Header.Clone(), body: body})
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

// got returns the requests received so far.
func (r *receiver) got() []post {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]post(nil), r.posts...)
}

// caFile writes the receiver's certificate to a PEM file for
// DELIVERY_CA_FILE and returns its path.
func (r *receiver) caFile(t *testing.T) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "receiver-ca.pem")
	if err := os.WriteFile(name, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestDeliveryUnderRuntimeEmulator builds the delivery function's
// bootstrap and invokes it under the Lambda Runtime Interface Emulator
// with events/delivery/message.json, its message addressed to a webhook
// the test creates with the webhook service (a real signing secret in
// Secrets Manager on kumo) whose URL is a local HTTPS receiver. The
// function gets the DeliveryFunction section of events/env.json, its own
// table, ALLOWED_DESTINATION_CIDRS=127.0.0.1/32 and DELIVERY_CA_FILE with
// the receiver's certificate, as a local `sam local invoke` would need.
// The receiver gets one POST of the payload bytes whose signature the
// official Standard Webhooks library verifies; the same message again
// (same SQS message id) is a duplicate and posts nothing.
func TestDeliveryUnderRuntimeEmulator(t *testing.T) {
	ctx := context.Background()
	kumo := testenv.Kumo(t)
	recv := newReceiver(t)
	emu, env := testenv.StartFunctionWith(t, "DeliveryFunction", map[string]string{
		"TABLE_NAME":                testenv.Unique("webhooks-delivery-"),
		"ALLOWED_DESTINATION_CIDRS": "127.0.0.1/32",
		"DELIVERY_CA_FILE":          recv.caFile(t),
	})
	db := dynamo.NewClient(kumo.Config(t))
	testenv.CreateTable(t, db, env["TABLE_NAME"])
	store := dynamo.New(db, env["TABLE_NAME"])
	sec := secrets.New(secretsmanager.NewFromConfig(kumo.Config(t)), testenv.Unique("webhooks/test-"), "")
	svc := webhook.NewService(store, store, sec, slog.New(slog.DiscardHandler), webhook.Options{})

	fixture, _ := testenv.ReadSQSEvent(t, messageEvent)
	m := readMessage(t, messageEvent)
	created, err := svc.Create(ctx, m.Owner(), webhook.Settings{URL: recv.URL + "/hooks", Events: []webhook.EventType{m.EventType},
		IsActive: true, RetryEnabled: true, MaxRetries: 3}, "")
	if err != nil {
		t.Fatal(err)
	}
	// The fixture's message, as the fan-out would write it for this webhook.
	m.WebhookID, m.DeliveryID = created.Webhook.ID, delivery.DeliveryID(m.EventID, created.Webhook.ID, m.EventTime)
	event := withMessage(t, fixture, m)

	for i := range 2 {
		out, err := emu.Invoke(event, testenv.InvokeTimeout)
		if err != nil {
			t.Fatalf("invocation %d: %v", i+1, err)
		}
		var resp events.SQSEventResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("invocation %d: the function returned %s: %v", i+1, out, err)
		}
		if len(resp.BatchItemFailures) != 0 {
			t.Errorf("invocation %d: batchItemFailures %v, want none", i+1, resp.BatchItemFailures)
		}
		if n := len(recv.got()); n != 1 {
			t.Fatalf("after invocation %d the receiver got %d requests, want 1", i+1, n)
		}
	}

	p := recv.got()[0]
	if p.method != http.MethodPost || p.path != "/hooks" || string(p.body) != string(m.Payload) {
		t.Errorf("got %s %s %s, want POST /hooks %s", p.method, p.path, p.body, m.Payload)
	}
	if id := p.header.Get(standardwebhooks.HeaderWebhookID); id != m.DeliveryID {
		t.Errorf("webhook-id %q, want %q", id, m.DeliveryID)
	}
	wh, err := standardwebhooks.NewWebhook(created.SigningSecret.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(p.body, p.header); err != nil {
		t.Errorf("the official Standard Webhooks library rejects the delivery: %v", err)
	}
	for _, line := range []string{`"msg":"delivery delivered"`, `"msg":"delivery duplicate"`} {
		if !emu.WaitForLog(line, testenv.LogTimeout) {
			t.Errorf("no %s line in the function's output", line)
		}
	}
	emu.Stop() // all of the output is in
	if strings.Contains(emu.Logs(), created.SigningSecret.Reveal()) {
		t.Error("the function's output contains the signing secret")
	}
}

// withMessage returns fixture, an SQS event of one record, as JSON with
// m as the record's body and md5OfBody to match.
func withMessage(t *testing.T, fixture events.SQSEvent, m delivery.Message) []byte {
	t.Helper()
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	rec := fixture.Records[0]
	sum := md5.Sum(body)
	rec.Body, rec.Md5OfBody = string(body), hex.EncodeToString(sum[:])
	if err := testenv.CheckSQSMessage(rec); err != nil {
		t.Fatal(err)
	}
	event, err := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{rec}})
	if err != nil {
		t.Fatal(err)
	}
	return event
}
