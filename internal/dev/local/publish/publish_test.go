package publish_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/freeport"
	"github.com/docproc/webhooks/internal/dev/local/endpoint"
	"github.com/docproc/webhooks/internal/dev/local/pipeline"
	"github.com/docproc/webhooks/internal/dev/local/publish"
	"github.com/docproc/webhooks/internal/dev/samtemplate"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/tenant"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestPublishedEventReachesTheFanoutQueue: an event published as
// `go run ./cmd/publish` does, on the bus the template's pipeline creates
// in kumo, arrives on the fan-out queue as one the service accepts, for
// the account, mode and type asked, with the data, under the EventBridge
// id Run returned.
func TestPublishedEventReachesTheFanoutQueue(t *testing.T) {
	kumo := testenv.Kumo(t)
	ctx := context.Background()
	cfg := kumo.Config(t)
	tmpl, err := samtemplate.Load(testenv.RepoFile("template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := pipeline.Ensure(ctx, cfg, tmpl, pipeline.Names{Bus: testenv.Unique("publish-")})
	if err != nil {
		t.Fatal(err)
	}
	o, err := publish.ParseFlags([]string{"-type", "document.processing.completed", "-data", `{"document_id":"doc_1"}`, "-live"},
		env{"AWS_ENDPOINT_URL": kumo.URL, "EVENT_BUS_NAME": res.Bus, "DEV_ACCOUNT": "acct_pub"}.get, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	id, err := publish.Run(ctx, o)
	if err != nil || id == "" {
		t.Fatalf("Run = %q, %v", id, err)
	}
	sq := sqs.NewFromConfig(cfg)
	var bodies []string
	for deadline := time.Now().Add(60 * time.Second); len(bodies) == 0 && time.Now().Before(deadline); {
		out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(res.Fanout().URL), WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
		}
	}
	if len(bodies) != 1 {
		t.Fatalf("fan-out queue got %d events; want 1", len(bodies))
	}
	ev, err := delivery.ParseEventBridge([]byte(bodies[0]))
	if err != nil {
		t.Fatalf("the service sets the published event aside: %v\n%s", err, bodies[0])
	}
	var payload struct {
		Data map[string]string `json:"data"`
	}
	_ = json.Unmarshal(ev.Payload, &payload)
	if ev.SourceID != id || ev.Owner.Account != "acct_pub" || ev.Owner.Mode != tenant.Live || ev.Type != "document.processing.completed" || payload.Data["document_id"] != "doc_1" {
		t.Errorf("published %s as %+v (payload %s)", id, ev, ev.Payload)
	}
}

// env is an environment for ParseFlags.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// TestRunSaysWhatIsWrong: nothing listening, and a bus make run did not
// create, each get an error that says what to do.
func TestRunSaysWhatIsWrong(t *testing.T) {
	free, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	o, err := publish.ParseFlags(nil, env{"EMULATOR_PORT": strings.Split(free, ":")[1]}.get, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Endpoint != "http://"+free || o.Bus != pipeline.DefaultBusName || o.Event.Account != "acct_local" || o.Event.Type != publish.DefaultType {
		t.Errorf("defaults: %+v; want make run's emulator, bus and account", o)
	}
	_, err = publish.Run(context.Background(), o)
	if !errors.Is(err, endpoint.ErrUnreachable) || !strings.Contains(err.Error(), "Is make run running?") {
		t.Errorf("Run with nothing on %s: %v; want ErrUnreachable and what to do", free, err)
	}
	kumo := testenv.Kumo(t)
	o.Endpoint, o.Bus = kumo.URL, testenv.Unique("no-such-bus-")
	_, err = publish.Run(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "has no event bus "+o.Bus) {
		t.Errorf("Run to a missing bus: %v; want it named", err)
	}
}

// TestParseFlagsRefusesWhatTheServiceSetsAside: an unknown type and data
// that is not an object are refused before anything is sent.
func TestParseFlagsRefusesWhatTheServiceSetsAside(t *testing.T) {
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"-type", "document.eaten"}, "unknown event"},
		{[]string{"-data", `["doc_1"]`}, "is not a JSON object"},
		{[]string{"-data", `{`}, "is not a JSON object"},
		{[]string{"-account", ""}, "detail.account is missing"},
		{[]string{"-account", "a b"}, "detail.account"},
		{[]string{"-id", strings.Repeat("e", 300)}, "detail.id is longer than"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		_, err := publish.ParseFlags(c.args, env{}.get, io.Discard)
		if !errors.Is(err, publish.ErrUsage) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("ParseFlags(%q) = %v; want ErrUsage saying %q", c.args, err, c.says)
		}
	}
}

// TestCommandLineRoundTrips: the line the banner prints is, read by a
// shell without make run's settings, the event and destination it was
// made from; with make run's defaults it is the short line.
func TestCommandLineRoundTrips(t *testing.T) {
	short := publish.CommandLine(publish.DefaultEndpoint, publish.DefaultRegion, pipeline.DefaultBusName,
		publish.Event{Type: "document.uploaded", Account: "acct_local", Data: []byte(`{"document_id":"doc_1"}`)})
	if want := `go run ./cmd/publish -type document.uploaded -data '{"document_id":"doc_1"}'`; short != want {
		t.Errorf("CommandLine with the defaults = %s; want %s", short, want)
	}
	want := publish.Options{Endpoint: "http://127.0.0.1:4866", Region: "eu-west-1", Bus: "my bus", Event: publish.Event{
		Type: "document.processing.failed", Account: "acct_other", Livemode: true, ID: "evt_1", Data: []byte(`{"note":"it's"}`)}}
	line := publish.CommandLine(want.Endpoint, want.Region, want.Bus, want.Event)
	args, ok := strings.CutPrefix(line, "go run ./cmd/publish ")
	if !ok {
		t.Fatalf("CommandLine = %s; want a go run ./cmd/publish line", line)
	}
	out, err := exec.Command("sh", "-c", `printf '%s\0' `+args).Output()
	if err != nil {
		t.Fatalf("sh reading %s: %v", args, err)
	}
	got, err := publish.ParseFlags(strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00"), env{}.get, io.Discard)
	if err != nil || got.Endpoint != want.Endpoint || got.Region != want.Region || got.Bus != want.Bus ||
		got.Event.Type != want.Event.Type || got.Event.Account != want.Event.Account || !got.Event.Livemode ||
		got.Event.ID != want.Event.ID || string(got.Event.Data) != string(want.Event.Data) {
		t.Errorf("%s reads as %+v, %v; want %+v", line, got, err, want)
	}
}
