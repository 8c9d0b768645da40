// Package devstack is the stack `make run` serves on one machine
// (cmd/devserver): the in-process kumo emulator or the endpoint in
// AWS_ENDPOINT_URL, the table created from template.yaml, a seeded
// development API key, and the API function's handler behind plain HTTP.
// The tests and `make bench` use its table and key too.
package devstack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/docproc/webhooks/internal/app"
	"github.com/docproc/webhooks/internal/awsconf/chain"
	appconfig "github.com/docproc/webhooks/internal/config"
	"github.com/docproc/webhooks/internal/local/bridge"
	"github.com/docproc/webhooks/internal/local/emulator"
	"github.com/docproc/webhooks/internal/samtemplate"
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
	Function appconfig.Config
	// DevAPIKey and DevAccount are the seeded key and its account.
	DevAPIKey, DevAccount string
	// Timeout stands in for the Lambda function timeout.
	Timeout time.Duration
}

// FromEnv reads Settings from getenv, with defaults for everything.
func FromEnv(getenv func(string) string) (Settings, error) {
	s := Settings{
		Addr:         net.JoinHostPort(cmp.Or(getenv("API_HOST"), "127.0.0.1"), cmp.Or(getenv("PORT"), "3000")),
		EmulatorAddr: net.JoinHostPort(cmp.Or(getenv("EMULATOR_HOST"), "127.0.0.1"), cmp.Or(getenv("EMULATOR_PORT"), "4566")),
		Endpoint:     getenv("AWS_ENDPOINT_URL"),
		DataDir:      cmp.Or(getenv("LOCAL_DATA_DIR"), ".local/data"),
		Template:     cmp.Or(getenv("TEMPLATE"), "template.yaml"),
		Region:       cmp.Or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), "us-east-1"),
		DevAPIKey:    cmp.Or(getenv("DEV_API_KEY"), DevAPIKey),
		DevAccount:   cmp.Or(getenv("DEV_ACCOUNT"), DevAccount),
		Timeout:      10 * time.Second,
	}
	fn, err := appconfig.Load(func(name string) string {
		switch name {
		case appconfig.EnvTableName:
			return cmp.Or(getenv(name), "webhooks-local")
		case appconfig.EnvSecretPrefix:
			return cmp.Or(getenv(name), "webhooks/local")
		}
		return getenv(name)
	})
	if err != nil {
		return Settings{}, err
	}
	s.Function = fn
	return s, nil
}

// Run starts the local stack and serves until ctx is done: kumo (unless
// s.Endpoint is set), the table, the dev key and the API. It prints the
// key and a ready-to-paste curl line to out; the handler's metrics (EMF
// lines) go to metricsOut.
func Run(ctx context.Context, s Settings, out io.Writer, log *slog.Logger, metricsOut io.Writer) (err error) {
	endpoint := s.Endpoint
	if endpoint == "" {
		emu, err := emulator.Start(s.EmulatorAddr)
		if err != nil {
			return err
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			err = errors.Join(err, emu.Close(cctx))
		}()
		endpoint = emu.URL
	}
	awsCfg, err := chain.ForEndpoint(ctx, endpoint, s.Region)
	if err != nil {
		return err
	}
	tmpl, err := samtemplate.Load(s.Template)
	if err != nil {
		return err
	}
	parts := app.New(s.Function, awsCfg, log, metricsOut)
	if err := EnsureTable(ctx, parts.DynamoDB, tmpl, s.Function.TableName); err != nil {
		return err
	}
	key, err := SeedAPIKey(ctx, parts.Store, s.DevAPIKey, s.DevAccount)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("listen for the API on %s: %w", s.Addr, err)
	}
	srv := &http.Server{Handler: bridge.New(parts.Handler.Handle, s.Timeout), ReadHeaderTimeout: 10 * time.Second}
	apiURL := "http://" + ln.Addr().String()
	fmt.Fprintf(out, `
Local webhook API      %s
AWS emulator           %s  (export AWS_ENDPOINT_URL=%s)
DynamoDB table         %s
Dev API key (%s, account %s):
%s

Try:
curl -sS -X POST %s/v1/webhooks -H "Authorization: Bearer %s" -H "Content-Type: application/json" -d '{"url":"https://example.com/hooks","events":["document.uploaded"]}'

Ctrl-C stops.
`, apiURL, endpoint, endpoint, s.Function.TableName, key.Mode(), s.DevAccount, key.Raw(), apiURL, key.Raw())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve api: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down api: %w", err)
	}
	return nil
}
