package queue_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/queue"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// calls records the requests of a client's SQS calls, by operation, and
// makes chosen entries of its SendMessageBatch calls fail as SQS declines
// an entry: before the call goes out, decline takes the entry out of the
// request, and the answer lists it as Failed. The rest of the call, and
// the SDK under it, run for real.
type calls struct {
	// decline returns, for entry id of the nth SendMessageBatch call
	// (from 1), the failure SQS reports for it; nil lets it through.
	decline func(n int, id string) *types.BatchResultErrorEntry

	mu      sync.Mutex
	batches [][]string        // each SendMessageBatch call's entry ids
	groups  map[string]string // each entry's message group, by entry id
	params  []any             // every call's input, in order
}

// middleware adds c to a client's stack, ahead of the SDK's own checks.
func (c *calls) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("queue_test.calls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
			middleware.InitializeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			c.params = append(c.params, in.Parameters)
			req, ok := in.Parameters.(*sqs.SendMessageBatchInput)
			if !ok {
				c.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}
			var ids []string
			for _, e := range req.Entries {
				ids = append(ids, aws.ToString(e.Id))
				c.groups[aws.ToString(e.Id)] = aws.ToString(e.MessageGroupId)
			}
			c.batches = append(c.batches, ids)
			n := len(c.batches)
			c.mu.Unlock()
			var pass []types.SendMessageBatchRequestEntry
			var declined []types.BatchResultErrorEntry
			for _, e := range req.Entries {
				if f := c.decline(n, aws.ToString(e.Id)); f != nil {
					declined = append(declined, *f)
				} else {
					pass = append(pass, e)
				}
			}
			if len(pass) == 0 && len(declined) > 0 {
				return middleware.InitializeOutput{Result: &sqs.SendMessageBatchOutput{Failed: declined}}, middleware.Metadata{}, nil
			}
			sent := *req
			sent.Entries = pass
			in.Parameters = &sent
			out, md, err := next.HandleInitialize(ctx, in)
			if err == nil {
				res := out.Result.(*sqs.SendMessageBatchOutput)
				res.Failed = append(res.Failed, declined...)
			}
			return out, md, err
		}), middleware.Before)
}

// sent returns the entry ids of each SendMessageBatch call.
func (c *calls) sent() [][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.batches)
}

// last returns the input of the last call.
func (c *calls) last() any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.params[len(c.params)-1]
}

// declineNone lets every entry through.
func declineNone(int, string) *types.BatchResultErrorEntry { return nil }

// internalError is how SQS declines an entry for a fault of its own.
func internalError(id string) *types.BatchResultErrorEntry {
	return &types.BatchResultErrorEntry{Id: aws.String(id), Code: aws.String("InternalError"), Message: aws.String("injected"), SenderFault: false}
}

// fixture is a queue on an emulator, read by its own client and written
// through q, whose calls c records.
type fixture struct {
	q   *queue.Queue
	c   *calls
	sqs *sqs.Client
	url string
}

func newFixture(t *testing.T, b testenv.Backend, decline func(int, string) *types.BatchResultErrorEntry) *fixture {
	t.Helper()
	reader := sqs.NewFromConfig(b.Config(t))
	out, err := reader.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(testenv.Unique("queue-"))})
	if err != nil {
		t.Fatal(err)
	}
	c := &calls{decline: decline, groups: map[string]string{}}
	url := aws.ToString(out.QueueUrl)
	return &fixture{q: queue.New(sqs.NewFromConfig(b.Config(t, c.middleware)), url), c: c, sqs: reader, url: url}
}

// messages returns n delivery messages, spread over three endpoints, each
// with a payload of size bytes.
func messages(n, size int) []delivery.Message {
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var out []delivery.Message
	for i := range n {
		id := fmt.Sprintf("evt_%02d", i)
		hook := fmt.Sprintf("wh_%d", i%3)
		out = append(out, delivery.Message{DeliveryID: delivery.DeliveryID(id, hook, at), EventID: id, EventType: webhook.DocumentUploaded,
			EventTime: at, Account: "acct_1", Mode: tenant.Test, WebhookID: hook, Payload: []byte(strings.Repeat("x", size))})
	}
	return out
}

// receiveAll receives every message on the queue, until it is empty, and
// returns their delivery ids. A message received twice fails t.
func (f *fixture) receiveAll(t *testing.T) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	for {
		out, err := f.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(f.url),
			MaxNumberOfMessages: 10, VisibilityTimeout: 600})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return got
		}
		for _, m := range out.Messages {
			var dm delivery.Message
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &dm); err != nil {
				t.Fatalf("body %q: %v", aws.ToString(m.Body), err)
			}
			if got[dm.DeliveryID] {
				t.Errorf("%s was queued twice", dm.DeliveryID)
			}
			got[dm.DeliveryID] = true
		}
	}
}

// wantQueued fails t unless the queue holds exactly msgs, each once.
func (f *fixture) wantQueued(t *testing.T, msgs []delivery.Message) {
	t.Helper()
	got := f.receiveAll(t)
	if len(got) != len(msgs) {
		t.Errorf("queued %d messages, want %d", len(got), len(msgs))
	}
	for _, m := range msgs {
		if !got[m.DeliveryID] {
			t.Errorf("%s (%s) was not queued", m.DeliveryID, m.EventID)
		}
	}
}

// ids returns "0".."n-1", the entry ids of a batch of n messages.
func ids(from, n int) []string {
	var out []string
	for i := from; i < from+n; i++ {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

func TestSendQueuesEveryMessageInBatchesOfTen(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b, declineNone)
		msgs := messages(25, 100)
		if err := f.q.Send(context.Background(), msgs); err != nil {
			t.Fatal(err)
		}
		if got, want := f.c.sent(), [][]string{ids(0, 10), ids(10, 10), ids(20, 5)}; !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("batches %v, want %v", got, want)
		}
		f.wantQueued(t, msgs)
	})
}

func TestSendKeepsABatchUnder256KiB(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b, declineNone)
		msgs := messages(5, 60<<10) // about 80 KiB each once base64-encoded: three to a batch
		if err := f.q.Send(context.Background(), msgs); err != nil {
			t.Fatal(err)
		}
		if got, want := f.c.sent(), [][]string{ids(0, 3), ids(3, 2)}; !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("batches %v, want %v", got, want)
		}
		f.wantQueued(t, msgs)
	})
}

func TestSendTriesAgainOnlyTheEntriesSQSDeclined(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b, func(n int, id string) *types.BatchResultErrorEntry {
			if n == 1 && (id == "1" || id == "3") {
				return internalError(id)
			}
			return nil
		})
		msgs := messages(5, 100)
		if err := f.q.Send(context.Background(), msgs); err != nil {
			t.Fatalf("Send with two entries declined once: %v", err)
		}
		if got, want := f.c.sent(), [][]string{ids(0, 5), {"1", "3"}}; !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("batches %v, want %v: the declined entries alone tried again", got, want)
		}
		f.wantQueued(t, msgs)
		for i, m := range msgs {
			if group := f.c.groups[strconv.Itoa(i)]; group != queue.FairGroup(m) {
				t.Errorf("%s sent in group %q, want its endpoint's %q", m.EventID, group, queue.FairGroup(m))
			}
		}
	})
}

func TestSendGivesUpOnAnEntryDeclinedEveryTry(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b, func(_ int, id string) *types.BatchResultErrorEntry {
			if id == "2" {
				return internalError(id)
			}
			return nil
		})
		msgs := messages(5, 100)
		err := f.q.Send(context.Background(), msgs)
		if !errors.Is(err, apperr.ErrUnavailable) || !strings.Contains(err.Error(), "entry 2: InternalError") {
			t.Errorf("Send = %v; want unavailable, naming entry 2", err)
		}
		if got, want := f.c.sent(), [][]string{ids(0, 5), {"2"}, {"2"}, {"2"}}; !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("batches %v, want %v: four tries of entry 2", got, want)
		}
		f.wantQueued(t, slices.Delete(slices.Clone(msgs), 2, 3))
	})
}

func TestSendDoesNotTryAgainAnEntryAtFault(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b, func(_ int, id string) *types.BatchResultErrorEntry {
			if id == "0" {
				return &types.BatchResultErrorEntry{Id: aws.String(id), Code: aws.String("InvalidParameterValue"),
					Message: aws.String("injected"), SenderFault: true}
			}
			return nil
		})
		msgs := messages(3, 100)
		err := f.q.Send(context.Background(), msgs)
		if err == nil || errors.Is(err, apperr.ErrUnavailable) || !strings.Contains(err.Error(), "entry 0: InvalidParameterValue") {
			t.Errorf("Send = %v; want an error naming entry 0, not unavailable", err)
		}
		if got := f.c.sent(); len(got) != 1 {
			t.Errorf("batches %v, want the one call", got)
		}
		f.wantQueued(t, msgs[1:])
	})
}

func TestSendOfAMessageOverABatchsSizeSendsIt(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b, declineNone)
		big := messages(1, 200<<10) // over 256 KiB once base64-encoded
		if err := f.q.Send(context.Background(), big); err != nil {
			t.Errorf("send of one message over a batch's size: %v", err)
		}
		// The call carries it alone: never an empty batch before it.
		if got, want := f.c.sent(), [][]string{{"0"}}; !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("batches %v, want %v", got, want)
		}
	})
}

func TestSendLaterDelaysInWholeSecondsUpToMaxDelay(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b, declineNone)
		m := messages(1, 100)[0]
		for _, c := range []struct {
			after time.Duration
			want  int32
		}{{1200 * time.Millisecond, 2}, {-time.Second, 0}, {time.Hour, int32(delivery.MaxDelay / time.Second)}} {
			if err := f.q.SendLater(context.Background(), m, c.after); err != nil {
				t.Fatalf("SendLater %v: %v", c.after, err)
			}
			in := f.c.last().(*sqs.SendMessageInput)
			if in.DelaySeconds != c.want || aws.ToString(in.MessageGroupId) != queue.FairGroup(m) {
				t.Errorf("SendLater %v: DelaySeconds %d in group %q; want %d in %q", c.after, in.DelaySeconds,
					aws.ToString(in.MessageGroupId), c.want, queue.FairGroup(m))
			}
		}
	})
}

func TestDelayHoldsTheMessageBack(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b, declineNone)
		if err := f.q.Send(context.Background(), messages(1, 100)); err != nil {
			t.Fatal(err)
		}
		out, err := f.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(f.url), MaxNumberOfMessages: 1})
		if err != nil || len(out.Messages) != 1 {
			t.Fatalf("receive: %d messages, %v", len(out.Messages), err)
		}
		receipt := aws.ToString(out.Messages[0].ReceiptHandle)
		if err := f.q.Delay(context.Background(), receipt, 90*time.Second+400*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if in := f.c.last().(*sqs.ChangeMessageVisibilityInput); in.VisibilityTimeout != 90 || aws.ToString(in.ReceiptHandle) != receipt {
			t.Errorf("VisibilityTimeout %d for %q, want 90 for the receipt", in.VisibilityTimeout, aws.ToString(in.ReceiptHandle))
		}
		if got := f.receiveAll(t); len(got) != 0 {
			t.Errorf("a delayed message was received again at once: %v", got)
		}
		// Past MaxVisibility, the request asks for MaxVisibility. (SQS
		// counts it from the receive, so moto, like SQS, refuses it once
		// any time has passed since: the handlers never ask as much.)
		if err := f.q.Delay(context.Background(), receipt, 20*time.Hour); err != nil && !strings.Contains(err.Error(), "VisibilityTimeout") {
			t.Errorf("Delay past MaxVisibility: %v; want nil, or the emulator's refusal of its VisibilityTimeout", err)
		}
		if in := f.c.last().(*sqs.ChangeMessageVisibilityInput); in.VisibilityTimeout != int32(queue.MaxVisibility/time.Second) {
			t.Errorf("VisibilityTimeout %d, want %d", in.VisibilityTimeout, int32(queue.MaxVisibility/time.Second))
		}
		if err := f.q.Delay(context.Background(), "no-such-receipt", time.Second); err == nil {
			t.Error("Delay of an unknown receipt succeeded")
		}
	})
}
