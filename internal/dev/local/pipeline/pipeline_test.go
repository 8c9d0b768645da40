package pipeline_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/docproc/webhooks/internal/dev/local/pipeline"
	"github.com/docproc/webhooks/internal/dev/samtemplate"
	"github.com/docproc/webhooks/internal/dev/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// templates returns the fixture and, once it defines the pipeline,
// template.yaml.
func templates(t *testing.T) map[string]*samtemplate.Template {
	t.Helper()
	out := map[string]*samtemplate.Template{}
	for name, path := range map[string]string{"fixture": "testdata/template.yaml", "template.yaml": testenv.RepoFile("template.yaml")} {
		tmpl, err := samtemplate.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := tmpl.Resources[pipeline.RuleID]; !ok && name != "fixture" {
			t.Logf("%s has no %s yet; only the fixture is used", name, pipeline.RuleID)
			continue
		}
		out[name] = tmpl
	}
	return out
}

func TestReadMapping(t *testing.T) {
	tmpl, err := samtemplate.Load("testdata/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]pipeline.Mapping{
		pipeline.FanoutFunctionID: {Function: pipeline.FanoutFunctionID, Queue: pipeline.FanoutQueueID, BatchSize: 10,
			MaximumConcurrency: 2, ReportBatchItemFailures: true, Timeout: 10 * time.Second},
		pipeline.DeliveryFunctionID: {Function: pipeline.DeliveryFunctionID, Queue: pipeline.DeliveryQueueID, BatchSize: 10,
			MaximumConcurrency: 5, ReportBatchItemFailures: true, Timeout: 15 * time.Second},
	} {
		got, err := pipeline.ReadMapping(tmpl, id)
		if err != nil || got != want {
			t.Errorf("ReadMapping(%s) = %+v, %v; want %+v", id, got, err, want)
		}
	}
	if _, err := pipeline.ReadMapping(tmpl, pipeline.FanoutQueueID); err == nil {
		t.Error("ReadMapping of a queue: no error")
	}
	for name, tmpl := range templates(t) {
		for _, id := range []string{pipeline.FanoutFunctionID, pipeline.DeliveryFunctionID} {
			if m, err := pipeline.ReadMapping(tmpl, id); err != nil || !m.ReportBatchItemFailures {
				t.Errorf("%s: ReadMapping(%s) = %+v, %v; want ReportBatchItemFailures", name, id, m, err)
			}
		}
	}
}

// TestDocumentEventsReachTheFanoutQueue: the pipeline created from the
// template, twice, routes the platform's document events, and only them,
// to the fan-out queue.
func TestDocumentEventsReachTheFanoutQueue(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		for name, tmpl := range templates(t) {
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				cfg := b.Config(t)
				names := pipeline.Names{Bus: testenv.Unique("wh-bus-")}
				res, err := pipeline.Ensure(ctx, cfg, tmpl, names)
				if err != nil {
					t.Fatal(err)
				}
				again, err := pipeline.Ensure(ctx, cfg, tmpl, names)
				if err != nil {
					t.Fatalf("second Ensure: %v", err)
				}
				if again.Fanout() != res.Fanout() || again.Delivery() != res.Delivery() || again.RuleARN != res.RuleARN {
					t.Errorf("second Ensure gave other resources:\n%+v\n%+v", again, res)
				}
				checkQueues(t, sqs.NewFromConfig(cfg), tmpl, res)

				ev := eventbridge.NewFromConfig(cfg)
				put := func(source, id string) {
					out, err := ev.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
						EventBusName: aws.String(res.Bus), Source: aws.String(source), DetailType: aws.String("document.uploaded"),
						Detail: aws.String(`{"account":"acct_1","livemode":false,"id":"` + id + `","data":{"document_id":"doc_1"}}`),
					}}})
					if err != nil || out.FailedEntryCount != 0 {
						t.Fatalf("PutEvents: %+v, %v", out, err)
					}
				}
				put("docproc.other", "evt_other")
				put("docproc.documents", "evt_doc")
				sq := sqs.NewFromConfig(cfg)
				var got []map[string]any
				deadline := time.Now().Add(60 * time.Second)
				for len(got) == 0 && time.Now().Before(deadline) {
					got = append(got, receive(t, sq, res.Fanout().URL)...)
				}
				// The other event, had it been routed, would be there by now
				// or within these few more polls.
				for range 3 {
					got = append(got, receive(t, sq, res.Fanout().URL)...)
				}
				if len(got) != 1 {
					t.Fatalf("fan-out queue got %d events, want the one document event: %v", len(got), got)
				}
				detail, _ := got[0]["detail"].(map[string]any)
				if got[0]["source"] != "docproc.documents" || got[0]["detail-type"] != "document.uploaded" || detail["id"] != "evt_doc" {
					t.Errorf("fan-out queue got %v", got[0])
				}
			})
		}
	})
}

// receive takes what the queue holds, with a short wait (kumo's long poll
// misses messages that arrive during it), deletes it and returns the
// bodies.
func receive(t *testing.T, sq *sqs.Client, url string) []map[string]any {
	t.Helper()
	ctx := context.Background()
	out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1, MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	var bodies []map[string]any
	for _, m := range out.Messages {
		var body map[string]any
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &body); err != nil {
			t.Fatalf("message body %q: %v", aws.ToString(m.Body), err)
		}
		bodies = append(bodies, body)
		if _, err := sq.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatalf("delete: %v", err)
		}
	}
	return bodies
}

// checkQueues checks that each queue has its template attributes and a
// redrive policy naming the created dead-letter queue.
func checkQueues(t *testing.T, sq *sqs.Client, tmpl *samtemplate.Template, res pipeline.Resources) {
	t.Helper()
	for _, pair := range [][2]string{{pipeline.FanoutQueueID, pipeline.FanoutDeadLetterQueueID}, {pipeline.DeliveryQueueID, pipeline.DeliveryDLQID}} {
		q, dlq := res.Queues[pair[0]], res.Queues[pair[1]]
		if q.URL == "" || dlq.ARN == "" || !strings.Contains(q.Name, pair[0]) {
			t.Fatalf("queues %s, %s: %+v, %+v", pair[0], pair[1], q, dlq)
		}
		var props struct {
			VisibilityTimeout      string `yaml:"VisibilityTimeout"`
			MessageRetentionPeriod string `yaml:"MessageRetentionPeriod"`
		}
		if err := tmpl.Decode(pair[0], "AWS::SQS::Queue", &props); err != nil {
			t.Fatal(err)
		}
		out, err := sq.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q.URL),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		a := out.Attributes
		if a["VisibilityTimeout"] != props.VisibilityTimeout || a["MessageRetentionPeriod"] != props.MessageRetentionPeriod {
			t.Errorf("%s: visibility %s, retention %s; want %s, %s", pair[0], a["VisibilityTimeout"], a["MessageRetentionPeriod"],
				props.VisibilityTimeout, props.MessageRetentionPeriod)
		}
		var rp struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
			MaxReceiveCount     any    `json:"maxReceiveCount"`
		}
		if err := json.Unmarshal([]byte(a["RedrivePolicy"]), &rp); err != nil || rp.DeadLetterTargetArn != dlq.ARN {
			t.Errorf("%s: redrive policy %q (%v); want it to name %s", pair[0], a["RedrivePolicy"], err, dlq.ARN)
		}
	}
}

// TestEnsureNamesWhatItCannotResolve: a template change that local
// tooling cannot follow (an intrinsic that has a value only once
// deployed) stops Ensure and ReadMapping before any call, with the
// resource, the property and the intrinsic named, instead of creating
// something else than the template says.
func TestEnsureNamesWhatItCannotResolve(t *testing.T) {
	fixture, err := os.ReadFile("testdata/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ old, new, says string }{
		{"State: ENABLED", "State: !If [IsProd, ENABLED, DISABLED]", "rule DocumentEventsRule, State: line "},
		{`source: ["docproc.documents"]`, `source: [!Sub "${AWS::StackName}.documents"]`, "rule DocumentEventsRule, EventPattern: line "},
		{"Arn: !GetAtt FanoutQueue.Arn", "Arn: !ImportValue fanout-queue-arn", "rule DocumentEventsRule, target fanout, Arn: line "},
	} {
		text := strings.Replace(string(fixture), c.old, c.new, 1)
		if text == string(fixture) {
			t.Fatalf("the fixture has no %q", c.old)
		}
		path := filepath.Join(t.TempDir(), "template.yaml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		tmpl, err := samtemplate.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		intrinsic := "Fn::" + strings.Fields(strings.SplitN(c.new, "!", 2)[1])[0] // !If -> Fn::If
		_, err = pipeline.Ensure(context.Background(), aws.Config{}, tmpl, pipeline.Names{Bus: "b"})
		if err == nil || !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), intrinsic+" cannot be resolved") {
			t.Errorf("Ensure with %s: %v; want %q and %s named", c.new, err, c.says, intrinsic)
		}
	}
}
