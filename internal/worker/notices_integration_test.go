package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/webhook"
)

// notice is an operational notice as a rule hands it to an SQS target.
type notice struct {
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Detail     delivery.Notice `json:"detail"`
}

// subscribeNotices subscribes a new queue to the harness's bus, as the
// platform would: a rule on source delivery.NoticeSource. It returns the
// queue's URL.
func (h *harness) subscribeNotices() string {
	h.t.Helper()
	ctx := context.Background()
	name := testenv.Unique("notices-")
	q, err := h.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		h.t.Fatal(err)
	}
	attrs, err := h.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		h.t.Fatal(err)
	}
	ev := eventbridge.NewFromConfig(h.cfg)
	pattern, _ := json.Marshal(map[string][]string{"source": {delivery.NoticeSource}})
	if _, err := ev.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventBusName: aws.String(h.bus),
		EventPattern: aws.String(string(pattern)), State: ebtypes.RuleStateEnabled}); err != nil {
		h.t.Fatal(err)
	}
	out, err := ev.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), EventBusName: aws.String(h.bus),
		Targets: []ebtypes.Target{{Id: aws.String("notices"), Arn: aws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)])}}})
	if err != nil || out.FailedEntryCount != 0 {
		h.t.Fatalf("PutTargets: %+v, %v", out, err)
	}
	return aws.ToString(q.QueueUrl)
}

// quiet is how long no further notice must arrive once the expected ones
// have, for a test to say that no notice came twice.
const quiet = 3 * time.Second

// notices receives n notices from the queue at url, then checks that no
// more arrive for quiet, and returns them by detail-type.
func (h *harness) notices(url string, n int) map[string][]notice {
	h.t.Helper()
	byType := map[string][]notice{}
	got := 0
	receive := func() {
		out, err := h.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url),
			MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			h.t.Fatal(err)
		}
		for _, m := range out.Messages {
			var x notice
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &x); err != nil {
				h.t.Fatalf("notice %s: %v", aws.ToString(m.Body), err)
			}
			byType[x.DetailType] = append(byType[x.DetailType], x)
			got++
			if _, err := h.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url),
				ReceiptHandle: m.ReceiptHandle}); err != nil {
				h.t.Fatal(err)
			}
		}
	}
	h.eventually(func() bool { receive(); return got >= n },
		func() string {
			return fmt.Sprintf("%d notices reached the subscribed queue, want %d: %+v", got, n, byType)
		})
	for end := time.Now().Add(quiet); time.Now().Before(end); {
		receive()
	}
	if got != n {
		h.t.Errorf("%d notices, want %d: %+v", got, n, byType)
	}
	return byType
}

// checkNotice checks that ns is one notice of type typ from
// delivery.NoticeSource, about the delivery of event (eventID, at) to w
// that ended for reason after attempts.
func checkNotice(t *testing.T, ns []notice, typ string, w webhook.Webhook, eventID string, at time.Time, reason string, attempts int) {
	t.Helper()
	if len(ns) != 1 {
		t.Errorf("%d %s notices, want 1: %+v", len(ns), typ, ns)
		return
	}
	got := ns[0]
	want := delivery.NoticeFor(delivery.Message{DeliveryID: delivery.DeliveryID(eventID, w.ID, at), EventID: eventID,
		EventType: webhook.DocumentUploaded, Account: w.Owner.Account, Mode: w.Owner.Mode, WebhookID: w.ID}, reason, attempts, time.Time{})
	want.Type = "" // the detail-type says it
	if got.Source != delivery.NoticeSource || got.DetailType != typ {
		t.Errorf("%s notice: source %q, detail-type %q", typ, got.Source, got.DetailType)
	}
	if got.Detail.At.IsZero() || got.Detail.At.Before(at) {
		t.Errorf("%s notice at %v, before the event (%v)", typ, got.Detail.At, at)
	}
	got.Detail.At = time.Time{}
	if got.Detail != want {
		t.Errorf("%s notice\n  %+v\nwant\n  %+v", typ, got.Detail, want)
	}
}

// TestNoticesReachTheBus: a receiver that answers 410 makes one
// webhook.disabled notice, and a delivery whose last retry fails one
// delivery.exhausted notice, both on the stack's bus, where a rule on
// their source hands them to a subscriber, each exactly once.
func TestNoticesReachTheBus(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		h := newHarness(t, b, options{})
		url := h.subscribeNotices()
		gone, _ := h.webhookFor(h.owner, newReceiver(t, statuses(410)).srv.URL, retries(3))
		failing, _ := h.webhookFor(h.owner, newReceiver(t, statuses(500)).srv.URL, retries(1))
		delivered, _ := h.webhookFor(h.owner, newReceiver(t, statuses(200)).srv.URL, retries(1))
		id, at := h.publish(h.owner, webhook.DocumentUploaded, testenv.Unique("evt_notice_"))
		for _, c := range []struct {
			w     webhook.Webhook
			state delivery.State
		}{{gone, delivery.StateFailed}, {failing, delivery.StateFailed}, {delivered, delivery.StateDelivered}} {
			if st := h.final(c.w, id, at); st.State != c.state {
				t.Errorf("delivery to %s: %s, want %s", c.w.ID, st.State, c.state)
			}
		}
		h.drained()
		ns := h.notices(url, 2)
		checkNotice(t, ns[delivery.NoticeWebhookDisabled], delivery.NoticeWebhookDisabled, gone, id, at, delivery.ReasonGone, 1)
		checkNotice(t, ns[delivery.NoticeDeliveryExhausted], delivery.NoticeDeliveryExhausted, failing, id, at, delivery.ReasonExhausted, 2)
	})
}

// TestNoticeSurvivesAFailedPublish: when PutEvents fails once, the notice
// stays pending with the delivery, the message comes back, and the notice
// is published then, once.
func TestNoticeSurvivesAFailedPublish(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		h := newHarness(t, b, options{deliveryFaults: []testenv.Fault{
			// Not an error the SDK retries: the deliverer must.
			{Operation: "PutEvents", Times: 1, Err: errors.New("injected: the call failed")},
		}})
		url := h.subscribeNotices()
		gone, _ := h.webhookFor(h.owner, newReceiver(t, statuses(410)).srv.URL, retries(3))
		id, at := h.publish(h.owner, webhook.DocumentUploaded, testenv.Unique("evt_notice_"))
		st := h.final(gone, id, at)
		if st.State != delivery.StateFailed {
			t.Errorf("delivery: %s, want failed", st.State)
		}
		h.handledAtLeast(2) // the message came back for its notice
		h.drained()
		ns := h.notices(url, 1)
		checkNotice(t, ns[delivery.NoticeWebhookDisabled], delivery.NoticeWebhookDisabled, gone, id, at, delivery.ReasonGone, 1)
		// Published on the message's return, it tells when the outcome was
		// recorded.
		if n := ns[delivery.NoticeWebhookDisabled]; len(n) == 1 && !n[0].Detail.At.Equal(st.UpdatedAt) {
			t.Errorf("notice at %s, want the outcome's time %s", n[0].Detail.At, st.UpdatedAt)
		}
		if n := h.deliveryIn.Calls("PutEvents"); n != 2 {
			t.Errorf("%d PutEvents calls, want 2 (the failed one and its retry)", n)
		}
	})
}
