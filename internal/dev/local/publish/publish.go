// Package publish puts one document event on an event bus as the platform
// publishes it: source docproc.documents, the event type as detail-type,
// and the documented detail ({"account","livemode","id","data"}). It is
// what `go run ./cmd/publish` does against `make run`'s emulator, so that
// trying the local stack needs Go alone, not the AWS CLI.
package publish

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/docproc/webhooks/internal/awsconf/chain"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/local/devkey"
	"github.com/docproc/webhooks/internal/dev/local/endpoint"
	"github.com/docproc/webhooks/internal/dev/local/pipeline"
	"github.com/docproc/webhooks/internal/webhook"
)

// Event is one document event to publish.
type Event struct {
	// Type is the event type, the detail-type, such as document.uploaded.
	Type string
	// Account is the account whose webhooks receive it.
	Account string
	// Livemode says it belongs to the account's live mode, not its test
	// mode.
	Livemode bool
	// ID is the platform's event id, "" to let the service make one.
	ID string
	// Data is the event's data, a JSON object.
	Data json.RawMessage
}

// detail is the Detail of a document event, as the platform publishes it.
type detail struct {
	Account  string          `json:"account"`
	Livemode bool            `json:"livemode"`
	ID       string          `json:"id,omitempty"`
	Data     json.RawMessage `json:"data"`
}

// ErrUsage is an event or a command line the service would set aside, or
// that cannot be read.
var ErrUsage = errors.New("usage")

// Check returns an error wrapping ErrUsage when the service would set ev
// aside. It hands ev, as the bus's rule would deliver it, to the fan-out's
// own parser (delivery.ParseEventBridge), so its rules are the service's.
func (ev Event) Check() error {
	_, err := ev.detail()
	return err
}

// detail encodes ev's Detail once Check's rules pass; its error wraps
// ErrUsage.
func (ev Event) detail() ([]byte, error) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(ev.Data, &obj) != nil || obj == nil {
		return nil, fmt.Errorf("%w: -data %q is not a JSON object", ErrUsage, ev.Data)
	}
	d, err := json.Marshal(detail{Account: ev.Account, Livemode: ev.Livemode, ID: ev.ID, Data: ev.Data})
	if err != nil {
		return nil, fmt.Errorf("%w: encode the detail: %v", ErrUsage, err)
	}
	delivered, err := json.Marshal(struct {
		ID         string          `json:"id"`
		Source     string          `json:"source"`
		DetailType string          `json:"detail-type"`
		Time       time.Time       `json:"time"`
		Detail     json.RawMessage `json:"detail"`
	}{ID: "check", Source: delivery.Source, DetailType: ev.Type, Time: time.Now().UTC(), Detail: d})
	if err != nil {
		return nil, fmt.Errorf("%w: encode the event: %v", ErrUsage, err)
	}
	if _, err := delivery.ParseEventBridge(delivered); err != nil {
		return nil, fmt.Errorf("%w: the service would set the event aside: %v", ErrUsage, err)
	}
	return d, nil
}

// Publish puts ev on the bus named bus with client, and returns the id
// EventBridge gave it. An entry EventBridge refuses is an error.
func Publish(ctx context.Context, client *eventbridge.Client, bus string, ev Event) (string, error) {
	d, err := ev.detail()
	if err != nil {
		return "", err
	}
	out, err := client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		EventBusName: aws.String(bus),
		Source:       aws.String(delivery.Source),
		DetailType:   aws.String(ev.Type),
		Detail:       aws.String(string(d)),
	}}})
	if err != nil {
		return "", endpoint.Classify("EventBridge PutEvents", err)
	}
	// PutEvents answers 200 even when it refuses an entry.
	if out.FailedEntryCount > 0 || len(out.Entries) != 1 {
		code, msg := "", "no reason given"
		if len(out.Entries) > 0 {
			code, msg = aws.ToString(out.Entries[0].ErrorCode), aws.ToString(out.Entries[0].ErrorMessage)
		}
		return "", fmt.Errorf("bus %s refused the event: %s %s", bus, code, msg)
	}
	return aws.ToString(out.Entries[0].EventId), nil
}

// Options are what the command line asks for.
type Options struct {
	// Endpoint is the emulator's URL.
	Endpoint string
	// Region is the region it answers for.
	Region string
	// Bus is the event bus's name.
	Bus string
	// Event is the event to publish.
	Event Event
}

// Defaults of the flags when the environment sets none: make run's.
const (
	// DefaultEndpoint is make run's emulator on its default port.
	DefaultEndpoint = "http://127.0.0.1:4566"
	// DefaultRegion is the region the emulator answers for.
	DefaultRegion = "us-east-1"
	// DefaultType is the event type published when -type is not given.
	DefaultType = "document.uploaded"
)

// CommandLine returns the `go run ./cmd/publish` line that publishes ev to
// bus at endpoint in region, to paste into a shell that has none of make
// run's settings: -type and -data, and the flags whose values are not the
// defaults.
func CommandLine(endpoint, region, bus string, ev Event) string {
	args := []string{"go run ./cmd/publish", "-type", shellQuote(ev.Type)}
	for _, f := range []struct{ name, value, def string }{
		{"-endpoint", endpoint, DefaultEndpoint}, {"-region", region, DefaultRegion},
		{"-bus", bus, pipeline.DefaultBusName}, {"-account", ev.Account, devkey.Account}, {"-id", ev.ID, ""},
	} {
		if f.value != f.def {
			args = append(args, f.name, shellQuote(f.value))
		}
	}
	if ev.Livemode {
		args = append(args, "-live")
	}
	return strings.Join(append(args, "-data", singleQuote(string(ev.Data))), " ")
}

// shellQuote quotes s for a POSIX shell, unless it holds only characters
// that need none.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/@,=+") == "" {
		return s
	}
	return singleQuote(s)
}

// singleQuote quotes s in single quotes for a POSIX shell.
func singleQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// ParseFlags reads the command line in args, with defaults from getenv
// (os.Getenv) that match `make run`'s: the emulator at AWS_ENDPOINT_URL,
// else at http://127.0.0.1:$EMULATOR_PORT (4566); the bus EVENT_BUS_NAME
// (webhooks-local); the account DEV_ACCOUNT (acct_local). Messages about
// a bad command line, and -h's usage, go to out. Its error wraps ErrUsage,
// or is flag.ErrHelp.
func ParseFlags(args []string, getenv func(string) string, out io.Writer) (Options, error) {
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	fs.SetOutput(out)
	defaultEndpoint := DefaultEndpoint
	if port := getenv("EMULATOR_PORT"); port != "" {
		defaultEndpoint = "http://" + net.JoinHostPort("127.0.0.1", port)
	}
	defaultEndpoint = cmp.Or(getenv("AWS_ENDPOINT_URL"), defaultEndpoint)
	var o Options
	fs.StringVar(&o.Endpoint, "endpoint", defaultEndpoint, "the AWS emulator's `URL`; $AWS_ENDPOINT_URL, else http://127.0.0.1:$EMULATOR_PORT, sets the default, as for make run")
	fs.StringVar(&o.Region, "region", cmp.Or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), DefaultRegion), "the emulator's `region`")
	fs.StringVar(&o.Bus, "bus", cmp.Or(getenv("EVENT_BUS_NAME"), pipeline.DefaultBusName), "the event bus's `name`; $EVENT_BUS_NAME sets the default, as for make run")
	fs.StringVar(&o.Event.Type, "type", DefaultType, "the event `type`: "+eventTypes())
	fs.StringVar(&o.Event.Account, "account", cmp.Or(getenv("DEV_ACCOUNT"), devkey.Account), "the `account` whose webhooks receive it; $DEV_ACCOUNT sets the default, as for make run")
	fs.BoolVar(&o.Event.Livemode, "live", false, "publish to the account's live mode (a dk_live_ key's webhooks), not its test mode")
	fs.StringVar(&o.Event.ID, "id", "", "the platform's event `id` (the same id published twice is one event); default: the service makes one")
	data := fs.String("data", `{}`, "the event's data, a JSON `object`")
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: go run ./cmd/publish [flags]\n\nPublishes one document event to make run's event bus, as the platform does,\nand prints the id EventBridge gave it. Flags:\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Options{}, err
		}
		return Options{}, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return Options{}, fmt.Errorf("%w: unexpected argument %q", ErrUsage, fs.Arg(0))
	}
	o.Event.Data = json.RawMessage(*data)
	return o, o.Event.Check()
}

// eventTypes lists the known event types.
func eventTypes() string {
	names := make([]string, len(webhook.EventTypes))
	for i, t := range webhook.EventTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// Run checks that o.Bus exists at o.Endpoint, publishes o.Event to it and
// returns its EventBridge id. Its error says what to do when nothing
// answers at the endpoint, when something that is not an emulator
// answers, or when the bus is missing.
func Run(ctx context.Context, o Options) (string, error) {
	cfg, err := chain.ForEndpoint(ctx, o.Endpoint, o.Region)
	if err != nil {
		return "", err
	}
	client := eventbridge.NewFromConfig(cfg)
	err = endpoint.Dial(ctx, o.Endpoint)
	// PutEvents to a bus that does not exist succeeds on kumo, and the
	// event is lost: ask for the bus first.
	if err == nil {
		_, err = client.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(o.Bus)})
		err = endpoint.Classify("EventBridge DescribeEventBus", err)
	}
	id := ""
	if err == nil {
		id, err = Publish(ctx, client, o.Bus, o.Event)
	}
	var missing *types.ResourceNotFoundException
	switch {
	case errors.Is(err, endpoint.ErrNotURL):
		return "", fmt.Errorf("%w: -endpoint %s %w", ErrUsage, o.Endpoint, err)
	case errors.Is(err, endpoint.ErrUnreachable):
		return "", fmt.Errorf("%s %w. Is make run running? It serves the emulator on EMULATOR_PORT (4566 unless set); pass -endpoint for another", o.Endpoint, err)
	case errors.Is(err, endpoint.ErrNotEmulator):
		return "", fmt.Errorf("%s %w: pass the emulator's URL with -endpoint (make run's banner shows it), not the API's", o.Endpoint, err)
	case errors.As(err, &missing):
		return "", fmt.Errorf("the emulator at %s has no event bus %s: make run creates it at start (its banner names it; pass it with -bus): %w", o.Endpoint, o.Bus, err)
	}
	return id, err
}
