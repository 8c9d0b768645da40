package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/bus"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/tenant"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// subscribe creates a bus, and a queue that a rule on it fills with every
// event of source delivery.NoticeSource, as the platform would subscribe.
// It returns the bus's name and the queue's URL.
func subscribe(t *testing.T, cfg aws.Config) (string, string) {
	t.Helper()
	ctx := context.Background()
	ev, sq := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	name := testenv.Unique("notices-")
	if _, err := ev.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	pattern, _ := json.Marshal(map[string][]string{"source": {delivery.NoticeSource}})
	if _, err := ev.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("notices"), EventBusName: aws.String(name),
		EventPattern: aws.String(string(pattern)), State: ebtypes.RuleStateEnabled}); err != nil {
		t.Fatal(err)
	}
	out, err := ev.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("notices"), EventBusName: aws.String(name),
		Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: aws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)])}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %+v, %v", out, err)
	}
	return name, aws.ToString(q.QueueUrl)
}

// envelope is an EventBridge event as a rule hands it to an SQS target.
type envelope struct {
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Time       time.Time       `json:"time"`
	Detail     delivery.Notice `json:"detail"`
}

// receive waits for one message on the queue at url and decodes it.
func receive(t *testing.T, cfg aws.Config, url string) envelope {
	t.Helper()
	sq := sqs.NewFromConfig(cfg)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out, err := sq.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url),
			MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) > 1 {
			t.Fatalf("%d notices, want 1", len(out.Messages))
		}
		if len(out.Messages) == 1 {
			var e envelope
			if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &e); err != nil {
				t.Fatalf("notice %s: %v", aws.ToString(out.Messages[0].Body), err)
			}
			return e
		}
	}
	t.Fatal("no notice reached the subscribed queue within 30s")
	return envelope{}
}

// TestNotifyPublishesToTheBus: a notice reaches a queue subscribed to the
// bus by source, with its type as detail-type, its time, and every field
// of the notice (but the type) in its detail.
func TestNotifyPublishesToTheBus(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		cfg := b.Config(t)
		name, url := subscribe(t, cfg)
		at := time.Now().UTC().Truncate(time.Second)
		m := delivery.Message{DeliveryID: "msg_1", EventID: "evt_1", EventType: "document.uploaded", Account: "acct_1",
			Mode: tenant.Live, WebhookID: "wh_1"}
		n := delivery.NoticeFor(m, delivery.ReasonGone, 3, at)
		if err := bus.New(eventbridge.NewFromConfig(cfg), name).Notify(context.Background(), n); err != nil {
			t.Fatal(err)
		}
		got := receive(t, cfg, url)
		// kumo stamps the envelope with its own clock, not the entry's
		// Time: there the time is checked to lie between the notice's and
		// now, whatever second the publish fell in.
		timeOK := got.Time.Equal(at)
		if b.Name == "kumo" {
			timeOK = !got.Time.Before(at) && !got.Time.After(time.Now())
		}
		if got.Source != delivery.NoticeSource || got.DetailType != delivery.NoticeWebhookDisabled || !timeOK {
			t.Errorf("envelope source %q, detail-type %q, time %v; want %s, %s, %v", got.Source, got.DetailType, got.Time,
				delivery.NoticeSource, delivery.NoticeWebhookDisabled, at)
		}
		want := n
		want.Type = "" // the detail-type says it
		if !got.Detail.At.Equal(want.At) {
			t.Errorf("detail at %v, want %v", got.Detail.At, want.At)
		}
		got.Detail.At = want.At
		if got.Detail != want {
			t.Errorf("detail %+v\nwant %+v", got.Detail, want)
		}
	})
}

// TestNotifyFailures: a call that fails for good, and an entry
// EventBridge declines, are errors; throttling and internal failures are
// apperr.ErrUnavailable (the deliverer tries again later), others not.
func TestNotifyFailures(t *testing.T) {
	b := testenv.Kumo(t)
	name, _ := subscribe(t, b.Config(t))
	throttled := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded", Fault: smithy.FaultClient}
	for _, tc := range []struct {
		name        string
		mw          func(*middleware.Stack) error
		unavailable bool
	}{
		{"throttled beyond the SDK's retries", testenv.NewInjector(testenv.Fault{Operation: "PutEvents", Err: throttled}).Middleware, true},
		{"entry throttled", declineEntry("ThrottlingException"), true},
		{"entry internal failure", declineEntry("InternalFailure"), true},
		{"entry malformed", declineEntry("MalformedDetail"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := b.Config(t, tc.mw)
			n := delivery.NoticeFor(delivery.Message{DeliveryID: "msg_1", WebhookID: "wh_1"}, delivery.ReasonExhausted, 1, time.Now())
			err := bus.New(eventbridge.NewFromConfig(cfg), name).Notify(context.Background(), n)
			if err == nil || errors.Is(err, apperr.ErrUnavailable) != tc.unavailable {
				t.Errorf("Notify = %v; want an error, unavailable %v", err, tc.unavailable)
			}
		})
	}
}

// declineEntry makes PutEvents answer that its first entry failed with
// code, as EventBridge does with FailedEntryCount and the entry's
// ErrorCode (the call itself succeeds).
func declineEntry(code string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("test.DeclineEntry",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
				middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				if res, ok := out.Result.(*eventbridge.PutEventsOutput); ok && err == nil {
					res.FailedEntryCount = 1
					res.Entries = []ebtypes.PutEventsResultEntry{{ErrorCode: aws.String(code), ErrorMessage: aws.String("injected")}}
				}
				return out, md, err
			}), middleware.After)
	}
}
