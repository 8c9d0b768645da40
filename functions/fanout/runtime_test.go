package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/queue"
	"github.com/docproc/webhooks/internal/webhook"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestFanoutUnderRuntimeEmulator builds the fan-out's bootstrap and invokes
// it under the Lambda Runtime Interface Emulator with the fixtures of
// events/fanout and the FanoutFunction section of events/env.json, as
// `make invoke FUNCTION=FanoutFunction` would. The document-uploaded event
// queues one message, for the one webhook of the account that subscribes
// to document.uploaded; the malformed event is set aside with its reason.
// Neither invocation reports a failure.
//
// The function gets its own table and queues (StartFunctionWith), so that
// a second run in the same process (-count=2) starts empty: the event id
// of the fixture is fixed, and the event log would take a second publish
// of it for a duplicate. env.json's queue URLs would work against kumo as
// they are (the SDK sends every call to AWS_ENDPOINT_URL, and kumo finds a
// queue by the URL's path), but the test passes the URLs kumo returns so
// that the function uses exactly the queues the test reads.
func TestFanoutUnderRuntimeEmulator(t *testing.T) {
	cfg := testenv.Kumo(t).Config(t)
	sqsClient := sqs.NewFromConfig(cfg)
	deliveryURL := createQueue(t, sqsClient, testenv.Unique("fanout-delivery-"))
	rejectedURL := createQueue(t, sqsClient, testenv.Unique("fanout-rejected-"))
	emu, env := testenv.StartFunctionWith(t, "FanoutFunction", map[string]string{
		"TABLE_NAME":         testenv.Unique("webhooks-fanout-"),
		"DELIVERY_QUEUE_URL": deliveryURL,
		"REJECTED_QUEUE_URL": rejectedURL,
	})
	db := dynamo.NewClient(cfg)
	testenv.CreateTable(t, db, env["TABLE_NAME"])
	store := dynamo.New(db, env["TABLE_NAME"])

	uploaded, raw := testenv.ReadSQSEvent(t, uploadedEvent)
	ev, err := delivery.ParseEventBridge([]byte(uploaded.Records[0].Body))
	if err != nil {
		t.Fatal(err)
	}
	subscribed := storeWebhook(t, store, ev, webhook.DocumentUploaded)
	storeWebhook(t, store, ev, webhook.DocumentProcessingCompleted) // takes no document.uploaded

	out, err := emu.Invoke(raw, testenv.InvokeTimeout)
	if err != nil {
		t.Fatal(err)
	}
	assertNoFailures(t, uploadedEvent, out)
	msgs := drain(t, sqsClient, deliveryURL)
	if len(msgs) != 1 {
		t.Fatalf("%d messages on the delivery queue, want 1", len(msgs))
	}
	var m delivery.Message
	if err := json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &m); err != nil {
		t.Fatalf("delivery message %s: %v", aws.ToString(msgs[0].Body), err)
	}
	if m.WebhookID != subscribed.ID || string(m.Payload) != string(ev.Payload) || m.EventID != ev.ID ||
		m.DeliveryID != delivery.DeliveryID(ev.ID, subscribed.ID, ev.Time) || m.Owner() != ev.Owner {
		t.Errorf("delivery message %+v (payload %s), want webhook %s, event %s and payload %s", m, m.Payload, subscribed.ID, ev.ID, ev.Payload)
	}

	malformed, raw := testenv.ReadSQSEvent(t, malformedEvent)
	out, err = emu.Invoke(raw, testenv.InvokeTimeout)
	if err != nil {
		t.Fatal(err)
	}
	assertNoFailures(t, malformedEvent, out)
	rejected := drain(t, sqsClient, rejectedURL)
	if len(rejected) != 1 {
		t.Fatalf("%d messages on the rejected queue, want 1", len(rejected))
	}
	if body := aws.ToString(rejected[0].Body); body != malformed.Records[0].Body {
		t.Errorf("set aside %q, want the record's body %q", body, malformed.Records[0].Body)
	}
	reason := aws.ToString(rejected[0].MessageAttributes[queue.ReasonAttribute].StringValue)
	if !strings.HasPrefix(reason, delivery.ErrMalformed.Error()) {
		t.Errorf("reason attribute %q, want one starting %q", reason, delivery.ErrMalformed)
	}
	if n := len(drain(t, sqsClient, deliveryURL)); n != 0 {
		t.Errorf("the malformed event queued %d deliveries", n)
	}
	for _, line := range []string{`"msg":"event fanned out"`, `"msg":"event set aside"`} {
		if !emu.WaitForLog(line, testenv.LogTimeout) {
			t.Errorf("no %s line in the function's output", line)
		}
	}
}

// createQueue creates queue name on kumo and returns its URL.
func createQueue(t *testing.T, client *sqs.Client, name string) string {
	t.Helper()
	out, err := client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.QueueUrl)
}

// storeWebhook stores an active webhook of ev's owner subscribed to typ.
func storeWebhook(t *testing.T, store *dynamo.Store, ev delivery.Event, typ webhook.EventType) webhook.Webhook {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	id, err := webhook.NewID(now)
	if err != nil {
		t.Fatal(err)
	}
	w := webhook.Webhook{ID: id, Owner: ev.Owner, CreatedAt: now, UpdatedAt: now, Version: 1,
		SecretRef: "arn:aws:secretsmanager:us-east-1:000000000000:secret:webhooks/local/" + id,
		Settings:  webhook.Settings{URL: "https://hooks.example.com/" + id, Events: []webhook.EventType{typ}, IsActive: true, RetryEnabled: true, MaxRetries: 3}}
	if err := store.Create(context.Background(), w, webhook.DefaultLimit, nil, "sha256-of-the-secret"); err != nil {
		t.Fatal(err)
	}
	return w
}

// assertNoFailures checks that out, an invocation's result, is an SQS
// batch response listing no failed message.
func assertNoFailures(t *testing.T, name string, out []byte) {
	t.Helper()
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("%s: the function returned %s: %v", name, out, err)
	}
	if len(resp.BatchItemFailures) != 0 {
		t.Errorf("%s: batchItemFailures %v, want none", name, resp.BatchItemFailures)
	}
}

// drain receives every message visible on the queue at url, with its
// attributes, until a receive comes back empty.
func drain(t *testing.T, client *sqs.Client, url string) []types.Message {
	t.Helper()
	var all []types.Message
	for {
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url),
			MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}, VisibilityTimeout: 300})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return all
		}
		all = append(all, out.Messages...)
	}
}
