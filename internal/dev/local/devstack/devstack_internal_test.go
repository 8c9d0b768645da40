package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/dev/local/devkey"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/docproc/webhooks/internal/apikey"
	"github.com/docproc/webhooks/internal/app"
	"github.com/docproc/webhooks/internal/apperr"
	appconfig "github.com/docproc/webhooks/internal/config"
	"github.com/docproc/webhooks/internal/dev/local/emulator"
)

// settings returns FromEnv's Settings for env.
func settings(t *testing.T, env map[string]string) Settings {
	t.Helper()
	s, err := FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFromEnvEventBusName(t *testing.T) {
	if s := settings(t, nil); s.EventBusName != "webhooks-local" {
		t.Errorf("default bus %q; want webhooks-local", s.EventBusName)
	}
	// The delivery function publishes its notices to the same bus.
	if s := settings(t, map[string]string{"EVENT_BUS_NAME": "mine"}); s.EventBusName != "mine" || s.Delivery.EventBusName != "mine" {
		t.Errorf("EVENT_BUS_NAME=mine: bus %q, delivery's %q", s.EventBusName, s.Delivery.EventBusName)
	}
}

func TestFromEnvLogSettings(t *testing.T) {
	if s := settings(t, nil); s.LogFormat != LogFormatLine || s.Metrics {
		t.Errorf("defaults: format %q, metrics %v; want line, no metrics", s.LogFormat, s.Metrics)
	}
	if s := settings(t, map[string]string{"LOG_FORMAT": "JSON", "LOCAL_METRICS": "1"}); s.LogFormat != appconfig.LogFormatJSON || !s.Metrics {
		t.Errorf("LOG_FORMAT=JSON LOCAL_METRICS=1: format %q, metrics %v", s.LogFormat, s.Metrics)
	}
	_, err := FromEnv(func(k string) string { return map[string]string{"LOG_FORMAT": "xml", "LOCAL_METRICS": "yes"}[k] })
	if err == nil || !strings.Contains(err.Error(), "LOG_FORMAT") || !strings.Contains(err.Error(), "LOCAL_METRICS") {
		t.Errorf("bad LOG_FORMAT and LOCAL_METRICS: %v; want both named", err)
	}
}

// serve runs one request without an API key through the real handler,
// logging as s says; it needs no AWS endpoint, as a 401 makes no call.
func serve(t *testing.T, s Settings, path string) string {
	t.Helper()
	var logs bytes.Buffer
	metricsOut := io.Discard
	if s.Metrics {
		metricsOut = &logs
	}
	h := app.New(s.Function, aws.Config{Region: "us-east-1"}, s.logger(&logs, map[string]string{apperr.CodeWebhookLimitReached: "the hint"}), metricsOut).Handler
	resp, err := h.Handle(context.Background(), events.APIGatewayV2HTTPRequest{
		RawPath:        path,
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "req-1", HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: path}},
	})
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("handler answered %d, %v; want 401", resp.StatusCode, err)
	}
	return logs.String()
}

func TestOneReadableLinePerRequest(t *testing.T) {
	path := "/v1/webhooks/" + devkey.APIKey
	out := serve(t, settings(t, nil), path)
	if strings.Count(out, "\n") != 1 {
		t.Fatalf("want one line, got:\n%s", out)
	}
	for _, want := range []string{" GET /v1/webhooks/dk_test_...cdef 401 ", "ms getWebhook error=api_key_missing request_id=req-1\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("line lacks %q:\n%s", want, out)
		}
	}
	if _, err := time.Parse("15:04:05.000", strings.Fields(out)[0]); err != nil {
		t.Errorf("line does not start with the time: %s", out)
	}
	if strings.Contains(out, devkey.APIKey) || strings.Contains(out, "the hint") {
		t.Errorf("line holds the whole key, or the limit hint without the limit:\n%s", out)
	}
}

func TestJSONLogsAndMetricsOnRequest(t *testing.T) {
	out := serve(t, settings(t, map[string]string{"LOG_FORMAT": "json", "LOCAL_METRICS": "1"}), "/v1/webhooks")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var access map[string]any
	if len(lines) < 2 || json.Unmarshal([]byte(lines[0]), &access) != nil || access["msg"] != "request" || access["error_code"] != "api_key_missing" {
		t.Fatalf("want the JSON access line and the metric lines, got:\n%s", out)
	}
	if !strings.Contains(out, `"_aws"`) {
		t.Errorf("no EMF metric line with LOCAL_METRICS=1:\n%s", out)
	}
}

// accessLine logs one access line with error code through a lineHandler
// with s's local hints and returns it, and the other lines.
func accessLine(t *testing.T, s Settings, code string) []string {
	t.Helper()
	var out bytes.Buffer
	log := slog.New(newLineHandler(&out, slog.LevelInfo, s.localHints("stop make run and run `make clean`")))
	log.LogAttrs(context.Background(), slog.LevelInfo, accessMessage, slog.String("request_id", "req-2"),
		slog.String("operation", "createWebhook"), slog.String("method", "POST"), slog.String("path", "/v1/webhooks"),
		slog.Int("status", 400), slog.Float64("latency_ms", 2.34), slog.String("error_code", code))
	log.Warn("something else", "webhook_id", "wh_1")
	return strings.Split(strings.TrimSpace(out.String()), "\n")
}

func TestLimitLineSaysHowToStartEmpty(t *testing.T) {
	lines := accessLine(t, settings(t, nil), apperr.CodeWebhookLimitReached)
	want := " POST /v1/webhooks 400 2.3ms createWebhook error=webhook_limit_reached request_id=req-2 (the webhooks of earlier runs count too: " +
		"delete those you no longer need (DELETE /v1/webhooks/{id}), or start empty: stop make run and run `make clean`)"
	if len(lines) != 2 || !strings.HasSuffix(lines[0], want) {
		t.Errorf("limit line:\n%s\nwant it to end with %q", strings.Join(lines, "\n"), want)
	}
	if !strings.Contains(lines[len(lines)-1], `level=WARN msg="something else" webhook_id=wh_1`) {
		t.Errorf("other records are not written as text:\n%s", strings.Join(lines, "\n"))
	}
}

// TestForbiddenHostLineNamesTheSetting: the API refuses a loopback url
// without naming the server's settings; make run's line for it does, and,
// with the setting, says why https://localhost:9443/ stays refused.
func TestForbiddenHostLineNamesTheSetting(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{nil, "error=url_forbidden_host request_id=req-2 (make run refuses loopback and private addresses unless ALLOWED_DESTINATION_CIDRS allows them: " +
			"for a receiver on this machine, restart make run with ALLOWED_DESTINATION_CIDRS=127.0.0.1/32"},
		{map[string]string{"ALLOWED_DESTINATION_CIDRS": "127.0.0.1/32"}, "error=url_forbidden_host request_id=req-2 (make run allows only the addresses in " +
			"ALLOWED_DESTINATION_CIDRS=127.0.0.1/32, and only by address: a name such as localhost stays refused (register https://127.0.0.1:9443/, not https://localhost:…/))"},
		{map[string]string{"RECEIVER_PORT": "9543"}, "register the receiver's address, such as https://127.0.0.1:9543/ (a name"},
	} {
		lines := accessLine(t, settings(t, c.env), apperr.CodeURLForbiddenHost)
		if !strings.Contains(lines[0], c.want) {
			t.Errorf("%v: forbidden host line:\n%s\nwant %q", c.env, lines[0], c.want)
		}
	}
	if lines := accessLine(t, settings(t, nil), apperr.CodeURLInvalid); strings.Contains(lines[0], "(") {
		t.Errorf("a line without a hint for its code has one:\n%s", lines[0])
	}
}

func TestBannerSaysWhereDataIsAndHowToReset(t *testing.T) {
	key, err := apikey.Parse(devkey.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	writeBanner(&out, banner{API: "http://127.0.0.1:3100", Endpoint: "http://127.0.0.1:4666", Table: "t",
		Data: "local data persists in /d; stop make run and run `make clean` (or remove the dir) to start empty",
		Key:  key, Account: devkey.Account, LogFormat: LogFormatLine, Bus: "webhooks-local", Region: "us-east-1",
		Receiver: "https://127.0.0.1:9543/"})
	for _, want := range []string{"Local webhook API      http://127.0.0.1:3100", "Event bus              webhooks-local",
		`AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x aws events put-events --endpoint-url http://127.0.0.1:4666 --region us-east-1 --entries '[{"Detail":"{\"account\":\"acct_local\",\"data\":{\"document_id\":\"doc_123\"},\"livemode\":false}","DetailType":"document.uploaded","EventBusName":"webhooks-local","Source":"docproc.documents"}]'`, "/d; stop make run and run `make clean`",
		"LOG_FORMAT=json", "LOCAL_METRICS=1", devkey.APIKey, "curl -sS -X POST http://127.0.0.1:3100/v1/webhooks",
		"\nexport API=http://127.0.0.1:3100 EMULATOR=http://127.0.0.1:4666 KEY=" + devkey.APIKey + "\n",
		"\nexport RECEIVER=https://127.0.0.1:9543/ ",
		"\ngo run ./cmd/publish -type document.uploaded -endpoint http://127.0.0.1:4666 -data '{\"document_id\":\"doc_123\"}'\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out.String())
		}
	}
}

// refusedAddr returns a loopback address that refuses connections for as
// long as the test runs: a TCP socket bound there but never listening
// holds the port, so no other test can start listening on it.
func refusedAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}

func TestRunNamesAnUnreachableEndpoint(t *testing.T) {
	endpoint := "http://" + refusedAddr(t)
	var out bytes.Buffer
	err := Run(context.Background(), settings(t, map[string]string{"AWS_ENDPOINT_URL": endpoint, "PORT": "0"}), &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "AWS_ENDPOINT_URL="+endpoint) || !strings.Contains(err.Error(), "unset AWS_ENDPOINT_URL") {
		t.Errorf("Run against a closed endpoint: %v; want the variable named and what to do", err)
	}
	if !strings.Contains(out.String(), "Using AWS_ENDPOINT_URL="+endpoint+" instead of starting the built-in emulator") {
		t.Errorf("Run did not say it uses AWS_ENDPOINT_URL:\n%s", out.String())
	}
}

// TestRunNamesAnEndpointThatIsNoEmulator: AWS_ENDPOINT_URL pointed at a
// server that answers 404, as the API's own port does, stops Run at start
// with what is wrong, not with an SDK error from the first table call.
func TestRunNamesAnEndpointThatIsNoEmulator(t *testing.T) {
	api := httptest.NewServer(http.NotFoundHandler())
	defer api.Close()
	err := Run(context.Background(), settings(t, map[string]string{"AWS_ENDPOINT_URL": api.URL, "PORT": "0"}), io.Discard, io.Discard)
	want := "AWS_ENDPOINT_URL=" + api.URL + " answers, but not as an AWS emulator (HTTP 404 to DynamoDB ListTables"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "unset AWS_ENDPOINT_URL") {
		t.Errorf("Run against a server that is no emulator: %v; want %q and what to do", err, want)
	}
}

// TestStopDuringSetUpIsNoError: a Ctrl-C (ctx ended) while the stack is
// being set up stops Run without an error, saying what happened, after
// the steps it began, and prints no banner.
func TestStopDuringSetUpIsNoError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, logs bytes.Buffer
	s := settings(t, map[string]string{"LOCAL_DATA_DIR": t.TempDir(), "PORT": "0", "EMULATOR_PORT": "0", "TEMPLATE": "../../../../template.yaml"})
	if err := Run(ctx, s, &out, &logs); err != nil {
		t.Errorf("Run stopped during set-up = %v; want nil", err)
	}
	if !strings.Contains(logs.String(), "s] starting the AWS emulator (kumo) on 127.0.0.1:0") ||
		!strings.HasSuffix(logs.String(), "Stopped during set-up, as asked (Ctrl-C); nothing is left running.\n") {
		t.Errorf("Run's log:\n%s\nwant its steps, then that it stopped during set-up", logs.String())
	}
	if out.Len() != 0 {
		t.Errorf("Run stopped during set-up printed a banner:\n%s", out.String())
	}
}

func TestRunRefusesADataDirInUse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	lock, err := emulator.LockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	s := settings(t, map[string]string{"LOCAL_DATA_DIR": dir, "PORT": "0", "EMULATOR_PORT": "0"})
	err = Run(context.Background(), s, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "LOCAL_DATA_DIR") {
		t.Errorf("Run on a data dir in use: %v; want it refused, naming the dir", err)
	}
	// The check before kumo loads its snapshot refuses it too (and so
	// never re-executes this test binary).
	if err := Prepare(s); err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "LOCAL_DATA_DIR") {
		t.Errorf("Prepare on a data dir in use: %v; want it refused, naming the dir", err)
	}
}

func TestResetAdvice(t *testing.T) {
	if got := resetAdvice(defaultDataDir, "/r/.local/data"); !strings.Contains(got, "`make clean`") {
		t.Errorf("default dir: %q; want make clean", got)
	}
	if got := resetAdvice("/tmp/d", "/tmp/d"); strings.Contains(got, "make clean") || !strings.Contains(got, "rm -rf /tmp/d") {
		t.Errorf("own dir: %q; want it removed by name, not make clean (which removes only .local)", got)
	}
}
