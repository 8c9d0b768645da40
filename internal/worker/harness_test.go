package worker_test

import (
	"cmp"
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/docproc/webhooks/internal/app"
	"github.com/docproc/webhooks/internal/config"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/local/pipeline"
	"github.com/docproc/webhooks/internal/dev/local/poller"
	"github.com/docproc/webhooks/internal/dev/samtemplate"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/secrets"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// settle bounds how long a test waits for the pipeline to finish its work:
// generous, for a loaded 2-core machine; a healthy run takes seconds.
const settle = 2 * time.Minute

// options change a harness.
type options struct {
	// deliveryFaults apply to the delivery handler's AWS calls.
	deliveryFaults []testenv.Fault
	// pollerFaults apply to the delivery queue poller's SQS calls.
	pollerFaults []testenv.Fault
	// fanoutFaults apply to the fan-out handler's AWS calls.
	fanoutFaults []testenv.Fault
	// wrapDelivery wraps the delivery handler (to crash it).
	wrapDelivery func(poller.Handler) poller.Handler
	// timeout is the attempt timeout; 0 means 2 s.
	timeout time.Duration
	// retryWait is the wait before every retry; 0 means none (100 ms,
	// which SQS delays round up to 1 s).
	retryWait time.Duration
	// schedule, when set, is the retry schedule instead of retryWait's.
	schedule delivery.Schedule
	// now, when set, is the deliverer's clock.
	now func() time.Time
	// noBreaker keeps endpoints' breakers closed, for tests of what
	// happens to many failed attempts to one endpoint.
	noBreaker bool
}

// harness is the delivery pipeline on one backend, as `make run` runs it:
// the template's bus, rule and queues, and the fan-out and delivery
// handlers on pollers, with every AWS call through the real SDK.
type harness struct {
	t          *testing.T
	cfg        aws.Config
	deliveryIn *testenv.Injector
	pollerIn   *testenv.Injector
	fanoutIn   *testenv.Injector
	res        pipeline.Resources
	svc        *webhook.Service
	store      *dynamo.Store
	bus        string
	sqs        *sqs.Client
	caFile     string
	owner      tenant.Tenant
	db         *dynamodb.Client
	table      string
	// handled counts the messages the delivery handler was given,
	// redeliveries included.
	handled atomic.Int64
	// madeAt, when set, is the time webhookFor creates webhooks at.
	madeAt time.Time
}

// newHarness starts the pipeline on b. Waits between retries are 1 s (the
// schedule is 100 ms, which a delayed message rounds up to a whole
// second) unless o says otherwise, so that a test sees every attempt soon.
func newHarness(t *testing.T, b testenv.Backend, o options) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{t: t, cfg: b.Config(t), deliveryIn: testenv.NewInjector(o.deliveryFaults...),
		pollerIn: testenv.NewInjector(o.pollerFaults...), fanoutIn: testenv.NewInjector(o.fanoutFaults...), owner: tenant.Tenant{Account: testenv.Unique("acct_"), Mode: tenant.Test}}
	table := testenv.Unique("e2e-")
	db := dynamo.NewClient(h.cfg)
	testenv.CreateTable(t, db, table)
	h.db, h.table = db, table
	h.store = dynamo.New(db, table)
	prefix := testenv.Unique("webhooks/e2e-")
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h.svc = webhook.NewService(h.store, h.store, secrets.New(secretsmanager.NewFromConfig(h.cfg), prefix, ""), log,
		webhook.Options{Now: func() time.Time { return cmp.Or(h.madeAt, time.Now()) }})
	tmpl, err := samtemplate.Load(testenv.RepoFile("template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	h.bus = testenv.Unique("bus-")
	if h.res, err = pipeline.Ensure(ctx, h.cfg, tmpl, pipeline.Names{Bus: h.bus}); err != nil {
		t.Fatal(err)
	}
	h.sqs = sqs.NewFromConfig(h.cfg)
	// The template's visibility timeouts (minutes) would make a test wait
	// that long for a message whose handling failed; 10 s keeps the
	// behaviour (well above an attempt's time) and the test short.
	for _, q := range []pipeline.Queue{h.res.Fanout(), h.res.Delivery()} {
		if _, err := h.sqs.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(q.URL),
			Attributes: map[string]string{string(sqstypes.QueueAttributeNameVisibilityTimeout): "10"}}); err != nil {
			t.Fatal(err)
		}
	}
	h.caFile = writeCA(t)
	timeout := o.timeout
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	fcfg := h.cfg.Copy()
	fcfg.APIOptions = append(fcfg.APIOptions, h.fanoutIn.Middleware)
	fanout := app.NewFanoutHandler(config.FanoutFunction{TableName: table, DeliveryQueueURL: h.res.Delivery().URL,
		RejectedQueueURL: h.res.Queues[pipeline.FanoutDeadLetterQueueID].URL, QueueURL: h.res.Fanout().URL, Retention: time.Hour}, fcfg, log, io.Discard)
	fanout.ErrorDelay = time.Second
	dcfg := h.cfg.Copy()
	dcfg.APIOptions = append(dcfg.APIOptions, h.deliveryIn.Middleware)
	schedule := o.schedule
	if schedule == nil {
		schedule = delivery.Schedule{max(o.retryWait, 100*time.Millisecond)}
	}
	deliverer, err := app.NewDeliveryHandler(config.DeliveryFunction{TableName: table, QueueURL: h.res.Delivery().URL, EventBusName: h.bus,
		Schedule: schedule, Timeout: timeout, DisableAfter: 120 * time.Hour, Retention: delivery.DefaultRetention,
		AllowedDestinations: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, CAFile: h.caFile}, dcfg, log, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	deliverer.ErrorDelay = time.Second
	// The breaker trips as in production, but opens for a fraction of a
	// second, so that tests of failing endpoints end in their time.
	deliverer.Deliverer.Breaker = delivery.DefaultBreaker
	deliverer.Deliverer.Breaker.Open, deliverer.Deliverer.Breaker.MaxOpen = 200*time.Millisecond, time.Second
	if o.noBreaker {
		deliverer.Deliverer.Breaker.MinAttempts = math.MaxInt
	}
	deliverer.Deliverer.Now = o.now
	deliver := poller.Handler(func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		h.handled.Add(int64(len(ev.Records)))
		return deliverer.Handle(ctx, ev)
	})
	if o.wrapDelivery != nil {
		deliver = o.wrapDelivery(deliver)
	}
	pcfg := h.cfg.Copy()
	pcfg.APIOptions = append(pcfg.APIOptions, h.pollerIn.Middleware)
	pollCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, p := range []struct {
		queue   pipeline.Queue
		handler poller.Handler
		cfg     aws.Config
	}{{h.res.Fanout(), fanout.Handle, h.cfg}, {h.res.Delivery(), deliver, pcfg}} {
		c := poller.Config{Client: sqs.NewFromConfig(p.cfg), QueueURL: p.queue.URL, QueueARN: p.queue.ARN, Region: "us-east-1",
			BatchSize: 10, Concurrency: 2, Timeout: 60 * time.Second, ReportBatchItemFailures: true, Handler: p.handler, Logger: log}
		wg.Go(func() {
			if err := poller.Run(pollCtx, c); err != nil {
				t.Error(err)
			}
		})
	}
	if o.now == nil {
		// The sweeper, on a ticker, as `make run` runs it; a test that
		// sets the clock runs its own sweeps.
		sweeper := app.NewSweeperHandler(config.SweeperFunction{TableName: table, QueueURL: h.res.Delivery().URL}, h.cfg, log, io.Discard)
		wg.Go(func() {
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-pollCtx.Done():
					return
				case <-tick.C:
					_, _ = sweeper.Handle(pollCtx)
				}
			}
		})
	}
	t.Cleanup(func() { stop(); wg.Wait() })
	return h
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// writeCA writes the certificate every httptest TLS server serves (for
// 127.0.0.1 and example.com) as the deliverer's CA, and returns its path.
func writeCA(t *testing.T) string {
	t.Helper()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// hit is one request a receiver got.
type hit struct {
	id, timestamp, signature string
	body                     []byte
	contentType, userAgent   string
}

// receiver is an HTTPS endpoint that answers each request with the next
// status of its script (the last repeating) and keeps what it got.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	hits   []hit
	answer func(n int, w http.ResponseWriter) // n counts from 1
}

// newReceiver starts a receiver answering with answer.
func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter)) *receiver {
	r := &receiver{answer: answer}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.hits = append(r.hits, hit{id: req.Header.Get("webhook-id"), timestamp: req.Header.Get("webhook-timestamp"),
			signature: req.Header.Get("webhook-signature"), body: body, contentType: req.Header.Get("Content-Type"),
			userAgent: req.Header.Get("User-Agent")})
		n := len(r.hits)
		r.mu.Unlock()
		r.answer(n, w)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// statuses answers the n-th request with codes[n-1], the last repeating.
func statuses(codes ...int) func(int, http.ResponseWriter) {
	return func(n int, w http.ResponseWriter) { w.WriteHeader(codes[min(n, len(codes))-1]) }
}

// got returns a copy of the requests so far.
func (r *receiver) got() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hit(nil), r.hits...)
}

// webhookFor creates a webhook of owner for r with settings s (URL set
// here) and returns it and its signing secret.
func (h *harness) webhookFor(owner tenant.Tenant, url string, s webhook.Settings) (webhook.Webhook, string) {
	h.t.Helper()
	s.URL = url
	if s.Events == nil {
		s.Events = []webhook.EventType{webhook.DocumentUploaded}
	}
	created, err := h.svc.Create(context.Background(), owner, s, "")
	if err != nil {
		h.t.Fatal(err)
	}
	return created.Webhook, created.SigningSecret.Reveal()
}

// publish puts one event for owner on the bus, with id, and returns the
// id and the event's time as the fan-out stored it (kumo may stamp its
// own time on an event rather than keep the one given).
func (h *harness) publish(owner tenant.Tenant, typ webhook.EventType, id string) (string, time.Time) {
	h.t.Helper()
	return h.publishAt(owner, typ, id, time.Now().UTC().Truncate(time.Second))
}

// publishAt is publish of an event stamped at.
func (h *harness) publishAt(owner tenant.Tenant, typ webhook.EventType, id string, at time.Time) (string, time.Time) {
	h.t.Helper()
	h.putEvents(h.entry(owner, typ, id, at))
	return id, h.eventTime(owner, id)
}

// entry is the PutEvents entry of one event for owner, with id, stamped
// at.
func (h *harness) entry(owner tenant.Tenant, typ webhook.EventType, id string, at time.Time) ebtypes.PutEventsRequestEntry {
	detail := fmt.Sprintf(`{"account":%q,"livemode":%t,"id":%q,"data":{"document_id":"doc_1","note":"<&>"}}`,
		owner.Account, owner.Mode == tenant.Live, id)
	return ebtypes.PutEventsRequestEntry{Source: aws.String(delivery.Source), DetailType: aws.String(string(typ)),
		Detail: aws.String(detail), EventBusName: aws.String(h.bus), Time: aws.Time(at)}
}

// putEvents puts entries on the bus in one PutEvents call.
func (h *harness) putEvents(entries ...ebtypes.PutEventsRequestEntry) {
	h.t.Helper()
	out, err := eventbridge.NewFromConfig(h.cfg).PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: entries})
	if err != nil || out.FailedEntryCount != 0 {
		h.t.Fatalf("PutEvents: %+v, %v", out, err)
	}
}

// eventTime waits until the fan-out has stored event id and returns its
// time.
func (h *harness) eventTime(owner tenant.Tenant, id string) time.Time {
	h.t.Helper()
	var at time.Time
	var err error
	h.eventually(func() bool {
		var out *dynamodb.GetItemOutput
		out, err = h.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(h.table),
			Key: map[string]dbtypes.AttributeValue{
				"pk": &dbtypes.AttributeValueMemberS{Value: "EVENT#" + owner.Account + "#" + string(owner.Mode) + "#" + id},
				"sk": &dbtypes.AttributeValueMemberS{Value: "EVENT"},
			}, ConsistentRead: aws.Bool(true)})
		if err != nil || out.Item == nil {
			return false
		}
		v, _ := out.Item["time"].(*dbtypes.AttributeValueMemberS)
		if at, err = time.Parse(time.RFC3339Nano, v.Value); err != nil {
			h.t.Fatalf("event %s time %q: %v", id, v.Value, err)
		}
		return true
	}, func() string { return fmt.Sprintf("event %s not stored by the fan-out (%v)", id, err) })
	return at
}

// final waits until the delivery of event (id, at) to w is no longer
// pending and returns its state.
func (h *harness) final(w webhook.Webhook, eventID string, at time.Time) delivery.Status {
	h.t.Helper()
	id := delivery.DeliveryID(eventID, w.ID, at)
	var tg delivery.Target
	var err error
	h.eventually(func() bool {
		tg, err = h.store.Target(context.Background(), w.Owner, w.ID, id)
		return err == nil && tg.Delivery.Exists && tg.Delivery.State != delivery.StatePending
	}, func() string {
		return fmt.Sprintf("delivery %s of %s to %s not final: %+v, %v", id, eventID, w.ID, tg.Delivery, err)
	})
	return tg.Delivery
}

// eventually polls done every 50 ms until it reports true, and fails the
// test with what() if it has not after settle.
func (h *harness) eventually(done func() bool, what func() string) {
	h.t.Helper()
	deadline := time.Now().Add(settle)
	for !done() {
		if time.Now().After(deadline) {
			h.t.Fatalf("after %s: %s", settle, what())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// handledAtLeast waits until the delivery handler was given n messages.
func (h *harness) handledAtLeast(n int64) {
	h.t.Helper()
	h.eventually(func() bool { return h.handled.Load() >= n },
		func() string {
			return fmt.Sprintf("the delivery handler got %d messages, want %d", h.handled.Load(), n)
		})
}

// queueCounts are the messages of a queue by where they are.
type queueCounts struct {
	// visible can be received now; inFlight were received and are
	// neither deleted nor visible again; delayed wait out their
	// DelaySeconds.
	visible, inFlight, delayed int
}

// counts reads q's approximate counts.
func (h *harness) counts(q pipeline.Queue) queueCounts {
	h.t.Helper()
	names := []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
		sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible, sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed}
	out, err := h.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q.URL),
		AttributeNames: names})
	if err != nil {
		h.t.Fatal(err)
	}
	n := make([]int, len(names))
	for i, k := range names {
		n[i], _ = strconv.Atoi(out.Attributes[string(k)])
	}
	return queueCounts{visible: n[0], inFlight: n[1], delayed: n[2]}
}

// queueDepth is the number of messages in q, visible or not (delayed
// ones aside).
func (h *harness) queueDepth(q pipeline.Queue) int {
	h.t.Helper()
	c := h.counts(q)
	return c.visible + c.inFlight
}

// drained waits until the fan-out and delivery queues hold nothing, then
// checks that both dead-letter queues are empty.
func (h *harness) drained() {
	h.t.Helper()
	h.eventually(func() bool { return h.queueDepth(h.res.Fanout())+h.queueDepth(h.res.Delivery()) == 0 },
		func() string {
			return fmt.Sprintf("queues not drained: fan-out %d, delivery %d", h.queueDepth(h.res.Fanout()), h.queueDepth(h.res.Delivery()))
		})
	for _, id := range []string{pipeline.FanoutDeadLetterQueueID, pipeline.DeliveryDLQID} {
		if n := h.queueDepth(h.res.Queues[id]); n != 0 {
			h.t.Errorf("dead-letter queue %s holds %d messages", id, n)
		}
	}
}

// verify checks every hit's signature with the official Standard Webhooks
// library and secret, and that it carries the delivery's id.
func verify(t *testing.T, hits []hit, secret, deliveryID string, payload []byte) {
	t.Helper()
	for i, h := range hits {
		if err := verifyHit(h, secret); err != nil {
			t.Errorf("request %d does not verify: %v", i+1, err)
		}
		if h.id != deliveryID || string(h.body) != string(payload) || h.contentType != "application/json" || h.userAgent == "" {
			t.Errorf("request %d: id %s body %s type %q agent %q; want id %s body %s", i+1, h.id, h.body, h.contentType, h.userAgent,
				deliveryID, payload)
		}
	}
}

// verifyHit checks x's signature with secret, with the official library.
func verifyHit(x hit, secret string) error {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return err
	}
	hdr := http.Header{}
	hdr.Set("webhook-id", x.id)
	hdr.Set("webhook-timestamp", x.timestamp)
	hdr.Set("webhook-signature", x.signature)
	return wh.Verify(x.body, hdr)
}

// crashOnce makes the first invocation of a handler fail after handling
// its batch, as a function that crashes before it answers: Lambda then
// hands the whole batch back.
func crashOnce(next poller.Handler) poller.Handler {
	var once sync.Once
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		resp, err := next(ctx, ev)
		crashed := false
		once.Do(func() { crashed = true })
		if crashed {
			return events.SQSEventResponse{}, fmt.Errorf("injected crash after handling %d messages", len(ev.Records))
		}
		return resp, err
	}
}

// throttling is the error DynamoDB and Secrets Manager give when they
// throttle a call; the SDK retries it.
func throttling() error {
	return &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded", Fault: smithy.FaultClient}
}
