// Package devstack is the stack `make run` serves on one machine
// (cmd/devserver): the in-process kumo emulator, or the endpoint in
// AWS_ENDPOINT_URL once checked to be an AWS emulator; the table, event
// bus, rule and queues created from template.yaml; a seeded development
// API key; the API function's handler behind plain HTTP, whose access
// lines carry the local fix for the errors that have one; and the fan-out,
// delivery and sweeper functions on local pollers and a ticker. The tests
// and `make bench` use its table and key too.
package devstack

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/docproc/webhooks/internal/apikey"
	"github.com/docproc/webhooks/internal/app"
	"github.com/docproc/webhooks/internal/awsconf/chain"
	appconfig "github.com/docproc/webhooks/internal/config"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/local/bridge"
	"github.com/docproc/webhooks/internal/dev/local/devkey"
	"github.com/docproc/webhooks/internal/dev/local/emulator"
	"github.com/docproc/webhooks/internal/dev/local/endpoint"
	"github.com/docproc/webhooks/internal/dev/local/pipeline"
	"github.com/docproc/webhooks/internal/dev/local/publish"
	"github.com/docproc/webhooks/internal/dev/samtemplate"
	"github.com/docproc/webhooks/internal/redact"
	"github.com/docproc/webhooks/internal/tenant"
)

// Settings configure the local stack. FromEnv fills them from the
// environment with documented defaults.
type Settings struct {
	// Addr is where the API listens (127.0.0.1:$PORT).
	Addr string
	// EmulatorAddr is where kumo listens (127.0.0.1:$EMULATOR_PORT).
	EmulatorAddr string
	// Endpoint, when set ($AWS_ENDPOINT_URL), is used instead of kumo.
	Endpoint string
	// DataDir keeps kumo's data between runs ($LOCAL_DATA_DIR).
	DataDir string
	// Template is the SAM template the table is created from.
	Template string
	// Region is the AWS region name the emulator answers for.
	Region string
	// Function is the handler's configuration (table, secret prefix, log level).
	Function appconfig.APIFunction
	// DevAPIKey and DevAccount are the seeded key and its account.
	DevAPIKey, DevAccount string
	// ReceiverURL is where the sample receiver listens (RECEIVER_PORT, as
	// the docs' examples pass it to go run ./cmd/receiver -addr; 9443
	// unless set): the banner and the hints name it.
	ReceiverURL string
	// Timeout stands in for the Lambda function timeout.
	Timeout time.Duration
	// LogFormat is LogFormatLine ($LOG_FORMAT unset), or the function's
	// config.LogFormatJSON or config.LogFormatText.
	LogFormat string
	// Metrics writes the handler's EMF metric lines with the logs
	// ($LOCAL_METRICS=1); by default they are dropped.
	Metrics bool
	// EventBusName is the bus the platform publishes to
	// ($EVENT_BUS_NAME, default webhooks-local).
	EventBusName string
	// Fanout and Delivery are the fan-out and delivery functions'
	// settings, read as Lambda's are (DELIVERY_RETRY_SCHEDULE,
	// DELIVERY_TIMEOUT, ALLOWED_DESTINATION_CIDRS, DELIVERY_CA_FILE, ...);
	// Run fills in the queue URLs (the API's delivery queue too) and the
	// bus the delivery function's notices go to.
	Fanout appconfig.FanoutFunction
	// Delivery is the delivery function's settings.
	Delivery appconfig.DeliveryFunction
	// Sweeper is the sweeper function's settings; Run fills in the queue
	// URL.
	Sweeper appconfig.SweeperFunction
	// SweepEvery is how often the sweeper runs ($SWEEP_EVERY, default
	// 10s): more often than AWS's schedule of a minute, so that a laptop
	// sees a parked delivery go out on time without waiting on the
	// schedule.
	SweepEvery time.Duration
}

// LogFormatLine, the local default, writes one short readable line per
// request instead of the JSON access line.
const LogFormatLine = "line"

// FromEnv reads Settings from getenv, with defaults for everything.
func FromEnv(getenv func(string) string) (Settings, error) {
	s := Settings{
		Addr:         net.JoinHostPort(cmp.Or(getenv("API_HOST"), "127.0.0.1"), cmp.Or(getenv("PORT"), "3000")),
		EmulatorAddr: net.JoinHostPort(cmp.Or(getenv("EMULATOR_HOST"), "127.0.0.1"), cmp.Or(getenv("EMULATOR_PORT"), "4566")),
		Endpoint:     getenv("AWS_ENDPOINT_URL"),
		DataDir:      cmp.Or(getenv("LOCAL_DATA_DIR"), defaultDataDir),
		Template:     cmp.Or(getenv("TEMPLATE"), "template.yaml"),
		Region:       cmp.Or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), "us-east-1"),
		DevAPIKey:    cmp.Or(getenv("DEV_API_KEY"), devkey.APIKey),
		DevAccount:   cmp.Or(getenv("DEV_ACCOUNT"), devkey.Account),
		ReceiverURL:  "https://127.0.0.1:" + cmp.Or(getenv("RECEIVER_PORT"), "9443") + "/",
		Timeout:      10 * time.Second,
		EventBusName: cmp.Or(getenv(appconfig.EnvEventBusName), pipeline.DefaultBusName),
	}
	var problems []error
	switch f := strings.ToLower(getenv("LOG_FORMAT")); f {
	case "", LogFormatLine:
		s.LogFormat = LogFormatLine
	case appconfig.LogFormatJSON, appconfig.LogFormatText:
		s.LogFormat = f
	default:
		problems = append(problems, fmt.Errorf("LOG_FORMAT %q is not line, json or text", getenv("LOG_FORMAT")))
	}
	if v := getenv("LOCAL_METRICS"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			problems = append(problems, fmt.Errorf("LOCAL_METRICS %q is not 1 or 0", v))
		}
		s.Metrics = on
	}
	local := func(name string) string {
		switch name {
		case appconfig.EnvTableName:
			return cmp.Or(getenv(name), "webhooks-local")
		case appconfig.EnvSecretPrefix:
			return cmp.Or(getenv(name), "webhooks/local")
		case appconfig.EnvDeliveryQueueURL, appconfig.EnvRejectedQueueURL, appconfig.EnvFanoutQueueURL:
			// Run creates the queues and sets their URLs.
			return queueCreatedByRun
		case appconfig.EnvEventBusName:
			return s.EventBusName
		}
		return getenv(name)
	}
	s.SweepEvery = 10 * time.Second
	if v := getenv("SWEEP_EVERY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 100*time.Millisecond || d > time.Minute {
			problems = append(problems, fmt.Errorf("SWEEP_EVERY %q is not a duration from 100ms to 1m", v))
		}
		s.SweepEvery = d
	}
	fn, err := appconfig.LoadAPIFunction(local)
	fanout, ferr := appconfig.LoadFanoutFunction(local)
	dlv, derr := appconfig.LoadDeliveryFunction(local)
	sweeper, serr := appconfig.LoadSweeperFunction(local)
	if err := errors.Join(append(problems, err, ferr, derr, serr)...); err != nil {
		return Settings{}, err
	}
	s.Function, s.Fanout, s.Delivery, s.Sweeper = fn, fanout, dlv, sweeper
	return s, nil
}

// queueCreatedByRun stands in for a queue URL until Run creates the queue.
const queueCreatedByRun = "created-by-run"

// Run starts the local stack and serves until ctx is done: kumo (unless
// s.Endpoint is set), the table, the dev key and the API. It prints each
// step of the set-up, with the time since it began, and the logs (and,
// with s.Metrics, the handler's EMF lines) to logOut; then what it uses,
// the key and ready-to-paste lines to out. When ctx ends during the
// set-up (Ctrl-C), Run says so on logOut and returns nil, as when it ends
// while serving: stopping is not an error.
func Run(ctx context.Context, s Settings, out, logOut io.Writer) (err error) {
	serving := false
	defer func() { // runs last, after the closes below
		if err != nil && !serving && ctx.Err() != nil {
			fmt.Fprintln(logOut, "Stopped during set-up, as asked (Ctrl-C); nothing is left running.")
			err = nil
		}
	}()
	step := stepper(logOut)
	endpoint, data, kept := s.Endpoint, "", ""
	if endpoint == "" {
		// The named result err is assigned, never shadowed, in this
		// block: the deferred closes add their errors to it.
		var dir string
		if dir, err = filepath.Abs(s.DataDir); err != nil {
			return fmt.Errorf("data dir %s: %w", s.DataDir, err)
		}
		var lock *emulator.DataDirLock
		if lock, err = claimDataDir(dir, logOut); err != nil {
			return err
		}
		defer func() { err = errors.Join(err, lock.Close()) }()
		step("starting the AWS emulator (kumo) on " + s.EmulatorAddr + ", data in " + dir)
		var emu *emulator.Emulator
		if emu, err = emulator.Start(s.EmulatorAddr); err != nil {
			return err
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			err = errors.Join(err, emu.Close(cctx))
		}()
		endpoint = emu.URL
		if !emu.EventsReachQueues() {
			fmt.Fprintf(logOut, "Warning: the emulator's EventBridge sends to SQS targets at KUMO_HOST:KUMO_PORT (%s:%s), not at %s; run devstack.Prepare first.\n",
				os.Getenv("KUMO_HOST"), os.Getenv("KUMO_PORT"), emu.URL)
		}
		data = "local data persists in " + dir + "; " + resetAdvice(s.DataDir, dir)
		kept = "kumo's data is saved in " + dir
	} else {
		fmt.Fprintf(out, "Using AWS_ENDPOINT_URL=%s instead of starting the built-in emulator.\n", endpoint)
		data = fmt.Sprintf("data persists in the emulator at AWS_ENDPOINT_URL=%s; reset it there, or `unset AWS_ENDPOINT_URL` to use the built-in one", endpoint)
		kept = "the data stays in the emulator at AWS_ENDPOINT_URL=" + endpoint
	}
	awsCfg, err := chain.ForEndpoint(ctx, endpoint, s.Region)
	if err != nil {
		return err
	}
	if s.Endpoint != "" {
		step("checking that AWS_ENDPOINT_URL=" + s.Endpoint + " is an AWS emulator")
		if err := checkEndpoint(ctx, awsCfg, s.Endpoint); err != nil {
			return err
		}
	}
	tmpl, err := samtemplate.Load(s.Template)
	if err != nil {
		return err
	}
	metricsOut := io.Discard
	if s.Metrics {
		metricsOut = logOut
	}
	log := s.logger(logOut, s.localHints(data))
	step("creating the event bus, rule and queues of " + s.Template)
	res, err := s.ensurePipeline(ctx, awsCfg, tmpl, logOut)
	if err != nil {
		return err
	}
	fn, bus := s.Function, ""
	if res != nil {
		// Manual sends go to the delivery queue Run created.
		fn.DeliveryQueueURL, bus = res.Delivery().URL, res.Bus
	}
	parts := app.New(fn, awsCfg, log, metricsOut)
	step("creating table " + s.Function.TableName + " and seeding the dev API key")
	if err := EnsureTable(ctx, parts.DynamoDB, tmpl, s.Function.TableName); err != nil {
		return err
	}
	key, err := SeedAPIKey(ctx, parts.Store, s.DevAPIKey, s.DevAccount)
	if err != nil {
		return err
	}
	if res != nil {
		step("starting the fan-out, delivery and sweeper functions")
		stopPollers, err := s.startPollers(ctx, awsCfg, tmpl, *res, log, metricsOut, logOut)
		if err != nil {
			return err
		}
		defer stopPollers()
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("listen for the API on %s: %w", s.Addr, err)
	}
	srv := &http.Server{Handler: bridge.New(parts.Handler.Handle, s.Timeout), ReadHeaderTimeout: 10 * time.Second}
	step("ready")
	writeBanner(out, banner{API: "http://" + ln.Addr().String(), Endpoint: endpoint, Table: s.Function.TableName,
		Data: data, Key: key, Account: s.DevAccount, LogFormat: s.LogFormat, Bus: bus, Region: s.Region, Receiver: s.ReceiverURL})
	serving = true
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve api: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintf(logOut, "Stopping; %s.\n", kept)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down api: %w", err)
	}
	return nil
}

// stepper returns a function that prints a step of the set-up to w, with
// the time since stepper was called: "[ 1.2s] creating ...".
func stepper(w io.Writer) func(what string) {
	start := time.Now()
	return func(what string) {
		fmt.Fprintf(w, "[%4.1fs] %s\n", time.Since(start).Seconds(), what)
	}
}

// claimDataDir claims dir for this make run, or says why it cannot; on a
// file system without locks it warns on logOut and goes on.
func claimDataDir(dir string, logOut io.Writer) (*emulator.DataDirLock, error) {
	lock, err := emulator.LockDataDir(dir)
	switch {
	case errors.Is(err, emulator.ErrDataDirInUse):
		return nil, fmt.Errorf("%w. Another make run keeps its data there: stop it first, or set LOCAL_DATA_DIR to another directory for this one", err)
	case err != nil:
		return nil, err
	case lock.Unenforced:
		fmt.Fprintf(logOut, "Warning: %s cannot be locked on this file system; make sure no other make run uses it.\n", dir)
	}
	return lock, nil
}

// Prepare readies this process for the built-in emulator, unless s uses
// AWS_ENDPOINT_URL: kumo keeps its data in s.DataDir between runs, and
// its EventBridge delivers events for SQS targets (the rule's fan-out
// queue) to the emulator on s.EmulatorAddr, whatever its port. kumo reads
// both from the environment as the process starts, so emulator.Prepare
// re-executes the process, handing it the emulator's listener. Before
// that, Prepare checks that no other make run holds the directory, so
// that none loads a snapshot another is still to write. The check's claim
// ends with the re-execution (its descriptor closes on exec) and Run
// claims the directory again before it starts kumo: of two runs started
// together, one is refused.
func Prepare(s Settings) error {
	if s.Endpoint != "" {
		return nil
	}
	lock, err := claimDataDir(s.DataDir, io.Discard)
	if err != nil {
		return err
	}
	return errors.Join(emulator.Prepare(s.EmulatorAddr, s.DataDir), lock.Close())
}

// logger returns the handler's logger: JSON or text as in Lambda when
// s.LogFormat asks for it, else one readable line per request, which ends
// with the hint for its error code, if hints has one. Every line is
// redacted.
func (s Settings) logger(w io.Writer, hints map[string]string) *slog.Logger {
	if s.LogFormat != LogFormatLine {
		return app.Logger(w, s.Function.LogLevel, s.LogFormat)
	}
	return slog.New(newLineHandler(redact.Writer(w), s.Function.LogLevel, hints))
}

// defaultDataDir is where kumo keeps its data when LOCAL_DATA_DIR is not
// set; `make clean` removes it.
const defaultDataDir = ".local/data"

// resetAdvice says how to empty the data dir: `make clean` removes only
// the default one.
func resetAdvice(dataDir, abs string) string {
	if filepath.Clean(dataDir) == defaultDataDir {
		return "stop make run and run `make clean` (or remove the dir) to start empty"
	}
	return "stop make run and run `rm -rf " + abs + "` to start empty"
}

// checkEndpoint checks that addr (AWS_ENDPOINT_URL) is an AWS
// emulator that answers. Its error names the variable, says what is wrong
// and what to do.
func checkEndpoint(ctx context.Context, awsCfg aws.Config, addr string) error {
	err := endpoint.Check(ctx, awsCfg, addr)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, endpoint.ErrNotEmulator):
		return fmt.Errorf("AWS_ENDPOINT_URL=%s %w. Is it the API's address, or another server's? Point it at an AWS emulator (kumo, moto_server, LocalStack), or run `unset AWS_ENDPOINT_URL` to use the built-in one", addr, err)
	}
	return fmt.Errorf("AWS_ENDPOINT_URL=%s %w. Start the emulator it names, or run `unset AWS_ENDPOINT_URL` to use the built-in one", addr, err)
}

// banner is what make run tells a person at its start.
type banner struct {
	API, Endpoint, Table, Data, Account, LogFormat string
	// Receiver is the sample receiver's URL.
	Receiver string
	Key      apikey.Key
	// Bus is the event bus, "" when the template defines none yet.
	Bus, Region string
}

// Shell variables the banner exports, as the docs' examples use them.
const (
	// VarAPI is the API's base URL.
	VarAPI = "API"
	// VarEmulator is the AWS emulator's URL.
	VarEmulator = "EMULATOR"
	// VarKey is the dev API key.
	VarKey = "KEY"
	// VarReceiver is the sample receiver's URL, to register as a webhook.
	VarReceiver = "RECEIVER"
)

// writeBanner prints b: where everything is, the shell variables the
// docs' examples use, a curl line and a publish line to paste.
func writeBanner(out io.Writer, b banner) {
	logs := "one line per request (LOG_FORMAT=json for JSON lines, LOCAL_METRICS=1 for the metric lines)"
	if b.LogFormat != LogFormatLine {
		logs = b.LogFormat + " lines, as in Lambda"
	}
	fmt.Fprintf(out, `
Local webhook API      %s
AWS emulator           %s  (for tools: AWS_ENDPOINT_URL=%s go run ./cmd/apikey ...)
DynamoDB table         %s
Data                   %s
Logs                   %s
Dev API key (%s, account %s):
%s

For the docs' examples, paste into the shell you run them in:
export %s=%s %s=%s %s=%s
export %s=%s   # go run ./cmd/receiver prints its own

Try:
curl -sS -X POST %s/v1/webhooks -H "Authorization: Bearer %s" -H "Content-Type: application/json" -d '{"url":"https://example.com/hooks","events":["document.uploaded"]}'

%sCtrl-C stops.
`, b.API, b.Endpoint, b.Endpoint, b.Table, b.Data, logs, b.Key.Mode(), b.Account, b.Key.Raw(),
		VarAPI, b.API, VarEmulator, b.Endpoint, VarKey, b.Key.Raw(), VarReceiver, b.Receiver,
		b.API, b.Key.Raw(), publishHint(b))
}

// publishHint tells how to publish a document event to b.Bus, with Go
// alone and with the AWS CLI, or nothing without a bus.
func publishHint(b banner) string {
	if b.Bus == "" {
		return ""
	}
	ev := publish.Event{Type: publish.DefaultType, Account: b.Account, Livemode: b.Key.Mode() == tenant.Live,
		Data: json.RawMessage(`{"document_id":"doc_123"}`)}
	detail, _ := json.Marshal(map[string]any{"account": ev.Account, "livemode": ev.Livemode, "data": ev.Data})
	entries, _ := json.Marshal([]map[string]string{{"Source": delivery.Source, "DetailType": ev.Type,
		"EventBusName": b.Bus, "Detail": string(detail)}})
	return fmt.Sprintf(`Event bus              %s
Publish a document event with Go:
%s
or with the AWS CLI:
AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x aws events put-events --endpoint-url %s --region %s --entries '%s'

`, b.Bus, publish.CommandLine(b.Endpoint, b.Region, b.Bus, ev), b.Endpoint, b.Region, entries)
}
