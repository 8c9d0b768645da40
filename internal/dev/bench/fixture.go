package bench

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"github.com/docproc/webhooks/internal/app"
	"github.com/docproc/webhooks/internal/awsconf/chain"
	svcconfig "github.com/docproc/webhooks/internal/config"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/local/devstack"
	"github.com/docproc/webhooks/internal/dev/local/pipeline"
	"github.com/docproc/webhooks/internal/dev/local/poller"
	"github.com/docproc/webhooks/internal/dev/rie"
	"github.com/docproc/webhooks/internal/dev/samtemplate"
	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/secrets"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// receiver is a local HTTPS endpoint on 127.0.0.1 (httptest's TLS server)
// that reads each body and answers 204 after an optional latency, as a
// real endpoint takes time to answer (or 200 with a body of its own). It
// notes when each event id first arrived and how many requests carried a
// webhook-signature header.
type receiver struct {
	srv *httptest.Server
	// caDir is a directory of its own holding only caFile, the receiver's
	// certificate.
	caDir, caFile string
	latency       atomic.Int64 // nanoseconds
	body          []byte       // when set, the answer is 200 with it instead of 204
	total         atomic.Int64
	signed        atomic.Int64

	mu       sync.Mutex
	arrivals map[string]time.Time
	wanted   map[string]chan struct{}
}

// newReceiver starts a receiver and writes its certificate, which is its
// own root, to receiver-ca.pem in a new directory under dir: the file for
// DELIVERY_CA_FILE, the directory for SSL_CERT_DIR (see trustDirs).
func newReceiver(dir string) (*receiver, error) { return newReceiverAnswering(dir, nil) }

// newReceiverAnswering is newReceiver whose answers are 200 with body
// when body is not empty.
func newReceiverAnswering(dir string, body []byte) (*receiver, error) {
	r := &receiver{arrivals: map[string]time.Time{}, wanted: map[string]chan struct{}{}, body: body}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.srv.Config.ErrorLog = nil
	r.srv.StartTLS()
	var err error
	if r.caDir, err = os.MkdirTemp(dir, "receiver-ca-"); err != nil {
		r.srv.Close()
		return nil, err
	}
	r.caFile = filepath.Join(r.caDir, "receiver-ca.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw})
	if err := os.WriteFile(r.caFile, block, 0o600); err != nil {
		r.srv.Close()
		return nil, err
	}
	return r, nil
}

// systemCertDirs are the directories Go reads system roots from on Linux
// after its bundle file (crypto/x509's certDirectories), which
// SSL_CERT_DIR replaces.
const systemCertDirs = "/etc/ssl/certs:/etc/pki/tls/certs"

// trustDirs is an SSL_CERT_DIR under which a process trusts the receiver
// (and the emulator's HTTPS front, which has the same certificate)
// through the system root pool, as a deployed function trusts a public
// endpoint: the pool loads what it loads without the variable, and the
// receiver's certificate besides.
func (r *receiver) trustDirs() string { return systemCertDirs + ":" + r.caDir }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	body, _ := io.ReadAll(req.Body)
	r.total.Add(1)
	if req.Header.Get("webhook-signature") != "" {
		r.signed.Add(1)
		var p struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(body, &p) == nil && p.ID != "" {
			r.mu.Lock()
			if _, seen := r.arrivals[p.ID]; !seen {
				r.arrivals[p.ID] = now
				if ch, ok := r.wanted[p.ID]; ok {
					close(ch)
					delete(r.wanted, p.ID)
				}
			}
			r.mu.Unlock()
		}
	}
	if d := time.Duration(r.latency.Load()); d > 0 {
		time.Sleep(d)
	}
	if len(r.body) > 0 {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(r.body)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// want returns a channel closed when event id first arrives.
func (r *receiver) want(id string) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch := make(chan struct{})
	if _, seen := r.arrivals[id]; seen {
		close(ch)
		return ch
	}
	r.wanted[id] = ch
	return ch
}

// arrival returns when event id first arrived.
func (r *receiver) arrival(id string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.arrivals[id]
	return t, ok
}

// waitAll waits until every event of ids has arrived, for at most
// within.
func (r *receiver) waitAll(ids []string, within time.Duration) error {
	deadline := time.After(within)
	for _, id := range ids {
		select {
		case <-r.want(id):
		case <-deadline:
			return fmt.Errorf("event %s did not reach the receiver within %v; is kumo's EventBridge sending to this emulator (emulator.Prepare)?", id, within)
		}
	}
	return nil
}

// url is the receiver's address with path.
func (r *receiver) url(path string) string { return r.srv.URL + path }

// bareClient is a plain net/http client that trusts the receiver, keeping
// up to idle connections to it: the bare loop the handler is compared with.
func (r *receiver) bareClient(idle int) *http.Client {
	roots := x509.NewCertPool()
	roots.AddCert(r.srv.Certificate())
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: roots}
	t.MaxIdleConnsPerHost = idle
	return &http.Client{Transport: t}
}

// blackHole is an endpoint that has stopped answering: a TCP listener on
// 127.0.0.1 that accepts every connection and never reads from it or
// writes to it, so that each attempt to it lasts its whole timeout.
type blackHole struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

// newBlackHole starts a black hole.
func newBlackHole() (*blackHole, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &blackHole{ln: ln}
	go b.accept()
	return b, nil
}

// accept takes connections and keeps them, unanswered, until close.
func (b *blackHole) accept() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.conns = append(b.conns, c)
		b.mu.Unlock()
	}
}

// accepted counts the connections taken: the attempts begun on it.
func (b *blackHole) accepted() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.conns)
}

// url is the black hole's address as a webhook's url.
func (b *blackHole) url() string { return "https://" + b.ln.Addr().String() + "/" }

// close stops listening and closes every connection taken.
func (b *blackHole) close() {
	_ = b.ln.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		_ = c.Close()
	}
}

// loopbackOnly allows deliveries to 127.0.0.1 only
// (ALLOWED_DESTINATION_CIDRS=127.0.0.1/32).
var loopbackOnly = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

// callStats counts AWS calls by operation and sums their time, retries
// included, with SDK middleware.
type callStats struct {
	mu    sync.Mutex
	calls map[string]int
	took  map[string]time.Duration
}

func newCallStats() *callStats {
	return &callStats{calls: map[string]int{}, took: map[string]time.Duration{}}
}

// middleware adds the counter to a client's stack.
func (c *callStats) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("bench.callStats",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			start := time.Now()
			out, md, err := next.HandleInitialize(ctx, in)
			op := awsmiddleware.GetOperationName(ctx)
			c.mu.Lock()
			c.calls[op]++
			c.took[op] += time.Since(start)
			c.mu.Unlock()
			return out, md, err
		}), middleware.After)
}

// reset forgets what was counted.
func (c *callStats) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.calls)
	clear(c.took)
}

// snapshot returns copies of the counts and times.
func (c *callStats) snapshot() (map[string]int, map[string]time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls, took := map[string]int{}, map[string]time.Duration{}
	for k, v := range c.calls {
		calls[k] = v
	}
	for k, v := range c.took {
		took[k] = v
	}
	return calls, took
}

// config returns an AWS configuration for endpoint whose clients count
// their calls in c.
func (c *callStats) config(ctx context.Context, endpoint string) (aws.Config, error) {
	return chain.ForEndpoint(ctx, endpoint, "us-east-1", config.WithAPIOptions([]func(*middleware.Stack) error{c.middleware}))
}

// countingWriter counts the bytes written to it and discards them.
type countingWriter struct{ n atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return len(p), nil
}

// jsonLogger is the functions' logger as deployed: JSON at INFO.
func jsonLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// world is the pipeline on the emulator with webhooks pointing at a
// receiver: the table, the bus, the rule and the queues as the template
// defines them.
type world struct {
	endpoint string
	table    string
	res      pipeline.Resources
	tmpl     *samtemplate.Template
	recv     *receiver
	owner    tenant.Tenant
	svc      *webhook.Service
	hooks    []string // webhook ids of owner
	// timeout and schedule are the delivery function's DELIVERY_TIMEOUT
	// and DELIVERY_RETRY_SCHEDULE in run: 15 s and the default schedule
	// when zero.
	timeout  time.Duration
	schedule delivery.Schedule
	// front serves the emulator over HTTPS to function processes (see
	// serveTLS); nil until started.
	front *httptest.Server
}

// newWorld creates the table and the pipeline named after name on the
// emulator at endpoint, and hooks webhooks of one account, each
// subscribed to every event and pointing at recv.
func newWorld(ctx context.Context, root, endpoint, name string, recv *receiver, hooks int) (*world, error) {
	tmpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		return nil, err
	}
	cfg, err := chain.ForEndpoint(ctx, endpoint, "us-east-1")
	if err != nil {
		return nil, err
	}
	w := &world{endpoint: endpoint, table: name, tmpl: tmpl, recv: recv,
		owner: tenant.Tenant{Account: "acct_" + strings.ReplaceAll(name, "-", "_"), Mode: tenant.Test}}
	db := dynamo.NewClient(cfg)
	if err := devstack.EnsureTable(ctx, db, tmpl, name); err != nil {
		return nil, err
	}
	if w.res, err = pipeline.Ensure(ctx, cfg, tmpl, pipeline.Names{Bus: name}); err != nil {
		return nil, err
	}
	store := dynamo.New(db, name)
	sec := secrets.New(secretsmanager.NewFromConfig(cfg), "webhooks/"+name, "")
	w.svc = webhook.NewService(store, store, sec, slog.New(slog.DiscardHandler), webhook.Options{Limit: 100})
	for i := range hooks {
		id, err := w.hook(ctx, w.owner, recv.url(fmt.Sprintf("/hooks/%d", i)))
		if err != nil {
			return nil, err
		}
		w.hooks = append(w.hooks, id)
	}
	return w, nil
}

// serveTLS starts w's HTTPS front: the emulator served over HTTPS, as
// AWS's endpoints are, with the receiver's certificate (httptest's
// servers share one), so that a function's first AWS call makes its
// first TLS handshake, which loads the system root pool, as in AWS. Close
// w.front when done.
func (w *world) serveTLS() error {
	u, err := url.Parse(w.endpoint)
	if err != nil {
		return err
	}
	w.front = httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(u))
	w.front.Config.ErrorLog = nil
	w.front.StartTLS()
	if !bytes.Equal(w.front.Certificate().Raw, w.recv.srv.Certificate().Raw) {
		w.front.Close()
		return fmt.Errorf("bench: the emulator's HTTPS front and the receiver have different certificates")
	}
	return nil
}

// functionEnv is the environment events/env.json gives function id (its
// logical id in template.yaml), pointed at w through its HTTPS front
// (serveTLS first), which the system root pool trusts (SSL_CERT_DIR), and
// logging at INFO as deployed.
func (w *world) functionEnv(root, id string) (map[string]string, error) {
	if w.front == nil {
		return nil, fmt.Errorf("bench: functionEnv before serveTLS")
	}
	env, err := rie.FunctionEnv(root, id, w.front.URL)
	if err != nil {
		return nil, err
	}
	env["TABLE_NAME"], env["DELIVERY_QUEUE_URL"] = w.table, w.res.Delivery().URL
	env["LOG_LEVEL"] = "INFO"
	env["SSL_CERT_DIR"] = w.recv.trustDirs()
	return env, nil
}

// deliveryEnv is the delivery function's environment as deployed (no
// DELIVERY_CA_FILE), pointed at w, with loopback allowed
// (ALLOWED_DESTINATION_CIDRS) to reach w's receiver, which the system
// root pool trusts as it trusts the front.
func (w *world) deliveryEnv(root string) (map[string]string, error) {
	env, err := w.functionEnv(root, "DeliveryFunction")
	if err != nil {
		return nil, err
	}
	env["EVENT_BUS_NAME"] = w.res.Bus
	env[svcconfig.EnvAllowedCIDRs] = loopbackOnly[0].String()
	return env, nil
}

// hook creates a webhook of owner for url, subscribed to every event, with
// 5 retries, and returns its id.
func (w *world) hook(ctx context.Context, owner tenant.Tenant, url string) (string, error) {
	created, err := w.svc.Create(ctx, owner, webhook.Settings{
		URL:      url,
		Events:   []webhook.EventType{webhook.DocumentProcessingCompleted, webhook.DocumentProcessingFailed, webhook.DocumentUploaded},
		IsActive: true, RetryEnabled: true, MaxRetries: 5,
	}, "")
	if err != nil {
		return "", fmt.Errorf("create webhook for %s: %w", url, err)
	}
	return created.Webhook.ID, nil
}

// pipelineCalls are the SDK configurations of the pipeline's callers:
// the two handlers and their pollers.
type pipelineCalls struct {
	fanout, delivery, fanoutPoller, deliveryPoller aws.Config
}

// run starts the fan-out and delivery handlers over w, each on a poller
// as the template's event source mapping says, with calls's clients; the
// pollers log warnings to out. stop ends them.
func (w *world) run(ctx context.Context, calls pipelineCalls, out io.Writer) (stop func(), err error) {
	fanout := app.NewFanoutHandler(svcconfig.FanoutFunction{TableName: w.table, DeliveryQueueURL: w.res.Delivery().URL,
		RejectedQueueURL: w.res.Queues[pipeline.FanoutDeadLetterQueueID].URL, QueueURL: w.res.Fanout().URL, MetricsNamespace: "Webhooks/bench"},
		calls.fanout, slog.New(slog.DiscardHandler), io.Discard)
	deliver, err := app.NewDeliveryHandler(svcconfig.DeliveryFunction{TableName: w.table, QueueURL: w.res.Delivery().URL, EventBusName: w.res.Bus,
		Timeout: cmp.Or(w.timeout, 15*time.Second), Schedule: w.schedule, AllowedDestinations: loopbackOnly, CAFile: w.recv.caFile,
		MetricsNamespace: "Webhooks/bench"},
		calls.delivery, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		return nil, err
	}
	var configs []poller.Config
	for _, f := range []struct {
		id      string
		handler poller.Handler
		cfg     aws.Config
	}{{pipeline.FanoutFunctionID, fanout.Handle, calls.fanoutPoller}, {pipeline.DeliveryFunctionID, deliver.Handle, calls.deliveryPoller}} {
		m, err := pipeline.ReadMapping(w.tmpl, f.id)
		if err != nil {
			return nil, err
		}
		q := w.res.Queues[m.Queue]
		configs = append(configs, poller.Config{Client: sqs.NewFromConfig(f.cfg), QueueURL: q.URL, QueueARN: q.ARN,
			Region: "us-east-1", BatchSize: m.BatchSize, Concurrency: m.MaximumConcurrency, Timeout: m.Timeout,
			ReportBatchItemFailures: m.ReportBatchItemFailures, Handler: f.handler,
			Logger: slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	}
	pctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, c := range configs {
		wg.Go(func() { _ = poller.Run(pctx, c) })
	}
	return func() { cancel(); wg.Wait() }, nil
}
