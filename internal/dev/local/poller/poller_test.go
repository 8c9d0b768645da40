package poller_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/docproc/webhooks/internal/dev/local/poller"
	"github.com/docproc/webhooks/internal/dev/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// deadline bounds every wait for a condition: generous, for a loaded
// two-core machine.
const deadline = 90 * time.Second

// seen records what the handler was given.
type seen struct {
	mu     sync.Mutex
	counts map[string]int // body -> invocations that held it
	events []events.SQSEvent
	done   map[string]bool // bodies whose invocation succeeded for them
}

func (s *seen) add(ev events.SQSEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
	for _, r := range ev.Records {
		s.counts[r.Body]++
	}
}

func (s *seen) count(body string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[body]
}

// run starts a poller on a new queue (visibility 2 s) of b with handler h
// (and the client middleware mw), sends bodies, and returns the queue's
// URL, the record and a stop function that waits for the poller.
func run(t *testing.T, b testenv.Backend, h func(*seen, events.SQSEvent) (events.SQSEventResponse, error), bodies []string, mw ...func(*middleware.Stack) error) (string, *seen, func()) {
	t.Helper()
	ctx := context.Background()
	plain := sqs.NewFromConfig(b.Config(t))
	q, err := plain.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(testenv.Unique("poller-")),
		Attributes: map[string]string{"VisibilityTimeout": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := plain.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range bodies {
		if _, err := plain.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(body),
			MessageAttributes: map[string]types.MessageAttributeValue{"kind": {DataType: aws.String("String"), StringValue: aws.String("test")}}}); err != nil {
			t.Fatal(err)
		}
	}
	rec := &seen{counts: map[string]int{}, done: map[string]bool{}}
	pctx, cancel := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() {
		stopped <- poller.Run(pctx, poller.Config{
			Client: sqs.NewFromConfig(b.Config(t, mw...)), QueueURL: aws.ToString(q.QueueUrl),
			QueueARN: attrs.Attributes["QueueArn"], Region: "us-east-1", BatchSize: 10, Concurrency: 2,
			Timeout: 10 * time.Second, ReportBatchItemFailures: true,
			Handler: func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				rec.add(ev)
				return h(rec, ev)
			},
			Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		})
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-stopped; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return aws.ToString(q.QueueUrl), rec, stop
}

// testWriter logs the poller's lines with the test.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("after %v: %s", deadline, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// empty reports whether the queue holds no message, visible or not.
func empty(t *testing.T, b testenv.Backend, url string) bool {
	t.Helper()
	out, err := sqs.NewFromConfig(b.Config(t)).GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Attributes["ApproximateNumberOfMessages"] == "0" && out.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
}

// receiveCount is a record's ApproximateReceiveCount.
func receiveCount(r events.SQSMessage) int {
	n, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
	return n
}

// TestFailedItemAloneComesBack: of a batch whose handler reports one
// failed message, only the others are deleted; the failed one comes back
// after its visibility timeout.
func TestFailedItemAloneComesBack(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		url, rec, _ := run(t, b, func(_ *seen, ev events.SQSEvent) (events.SQSEventResponse, error) {
			var resp events.SQSEventResponse
			for _, r := range ev.Records {
				if r.Body == "b" && receiveCount(r) == 1 {
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
				}
			}
			return resp, nil
		}, []string{"a", "b", "c"})
		waitFor(t, "b is handled again and the queue is empty", func() bool { return rec.count("b") >= 2 && empty(t, b, url) })
		if rec.count("a") != 1 || rec.count("c") != 1 || rec.count("b") != 2 {
			t.Errorf("handled a %d, b %d, c %d times; want 1, 2, 1", rec.count("a"), rec.count("b"), rec.count("c"))
		}
	})
}

// TestFailedInvocationReturnsTheBatch: a handler error, a panic and a
// batchItemFailures naming no message of the batch each leave every
// message of the batch, and each comes back.
func TestFailedInvocationReturnsTheBatch(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		for name, fail := range map[string]func() (events.SQSEventResponse, error){
			"error": func() (events.SQSEventResponse, error) { return events.SQSEventResponse{}, errors.New("boom") },
			"panic": func() (events.SQSEventResponse, error) { panic("boom") },
			"unknown item": func() (events.SQSEventResponse, error) {
				return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "no-such-message"}}}, nil
			},
		} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				bodies := []string{"a", "b", "c"}
				url, rec, _ := run(t, b, func(_ *seen, ev events.SQSEvent) (events.SQSEventResponse, error) {
					for _, r := range ev.Records {
						if receiveCount(r) == 1 {
							return fail()
						}
					}
					return events.SQSEventResponse{}, nil
				}, bodies)
				waitFor(t, "every message is handled twice and the queue is empty", func() bool {
					return rec.count("a") >= 2 && rec.count("b") >= 2 && rec.count("c") >= 2 && empty(t, b, url)
				})
			})
		}
	})
}

// TestFailedDeleteLosesNothing: when the delete after a successful
// invocation fails, the messages come back and are handled again.
func TestFailedDeleteLosesNothing(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		faults := testenv.NewInjector(testenv.Fault{Operation: "DeleteMessageBatch", Times: 1, Err: errors.New("injected: delete failed")})
		url, rec, _ := run(t, b, func(*seen, events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{}, nil
		}, []string{"a"}, faults.Middleware)
		waitFor(t, "a is handled again after the failed delete, and the queue is empty", func() bool { return rec.count("a") >= 2 && empty(t, b, url) })
		if n := faults.Calls("DeleteMessageBatch"); n < 2 {
			t.Errorf("%d DeleteMessageBatch attempts; want the failed one and another", n)
		}
	})
}

// TestEventIsLambdas: the event has every field Lambda's has, in the
// shape of aws-lambda-go's sqs-event.json, and survives a JSON round trip.
func TestEventIsLambdas(t *testing.T) {
	fixture := lambdaFixture(t)
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		url, rec, stop := run(t, b, func(*seen, events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{}, nil
		}, []string{`{"hello":"world"}`})
		waitFor(t, "the message is handled and deleted", func() bool { return rec.count(`{"hello":"world"}`) == 1 && empty(t, b, url) })
		stop()
		ev := rec.events[0]
		b2, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var back events.SQSEvent
		if err := json.Unmarshal(b2, &back); err != nil || !reflect.DeepEqual(back, ev) {
			t.Errorf("JSON round trip: %v\n%+v\n%+v", err, back, ev)
		}
		var generic struct{ Records []map[string]any }
		if err := json.Unmarshal(b2, &generic); err != nil || len(generic.Records) != 1 {
			t.Fatalf("event JSON %s: %v", b2, err)
		}
		got := generic.Records[0]
		if keys, want := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(fixture)); !slices.Equal(keys, want) {
			t.Errorf("record keys %v; want Lambda's %v", keys, want)
		}
		r := ev.Records[0]
		sum := md5.Sum([]byte(r.Body))
		if r.EventSource != "aws:sqs" || r.AWSRegion != "us-east-1" || r.EventSourceARN == "" || r.MessageId == "" ||
			r.ReceiptHandle == "" || r.Md5OfBody != hex.EncodeToString(sum[:]) {
			t.Errorf("record %+v", r)
		}
		for _, k := range []string{"ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} {
			if r.Attributes[k] == "" {
				t.Errorf("attribute %s missing: %v", k, r.Attributes)
			}
		}
		a := r.MessageAttributes["kind"]
		if a.DataType != "String" || aws.ToString(a.StringValue) != "test" || a.StringListValues == nil || a.BinaryListValues == nil {
			t.Errorf("message attribute %+v", a)
		}
		if attr, _ := got["messageAttributes"].(map[string]any)["kind"].(map[string]any); fmt.Sprint(attr["stringListValues"]) != "[]" {
			t.Errorf("stringListValues %v; want [] as Lambda sends", attr["stringListValues"])
		}
	})
}

// lambdaFixture returns the record of aws-lambda-go's sample SQS event.
func lambdaFixture(t *testing.T) map[string]any {
	t.Helper()
	dir, err := moduleDir("github.com/aws/aws-lambda-go")
	if err != nil {
		t.Skipf("aws-lambda-go's sources: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "events", "testdata", "sqs-event.json"))
	if err != nil {
		t.Skipf("aws-lambda-go's sample event: %v", err)
	}
	var ev struct{ Records []map[string]any }
	if err := json.Unmarshal(b, &ev); err != nil || len(ev.Records) == 0 {
		t.Fatalf("sample event: %v", err)
	}
	return ev.Records[0]
}

// TestStopWaitsForInvocations: when its context ends, Run returns only
// after the invocation in flight, whose messages are deleted.
func TestStopWaitsForInvocations(t *testing.T) {
	b := testenv.Kumo(t)
	started, release := make(chan struct{}), make(chan struct{})
	var startOnce sync.Once
	url, _, stop := run(t, b, func(*seen, events.SQSEvent) (events.SQSEventResponse, error) {
		startOnce.Do(func() { close(started) })
		<-release
		return events.SQSEventResponse{}, nil
	}, []string{"a"})
	select {
	case <-started:
	case <-time.After(deadline):
		t.Fatal("no invocation")
	}
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Run returned with an invocation in flight")
	case <-time.After(500 * time.Millisecond):
	}
	close(release)
	<-stopped
	if !empty(t, b, url) {
		t.Error("the message of the invocation in flight was not deleted")
	}
}
