// Command devserver runs the webhook service on this machine (`make run`):
// the in-process kumo AWS emulator, or the endpoint in AWS_ENDPOINT_URL;
// the table, bus and queues from template.yaml; a seeded dev API key; the
// same API handler Lambda runs, behind plain HTTP; and the fan-out,
// delivery and sweeper functions. It prints each set-up step, then a
// banner with the lines to paste. Ctrl-C (SIGINT) or SIGTERM stops it,
// during set-up too, with exit status 0. docs/development.md lists its
// settings.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/docproc/webhooks/internal/dev/local/devstack"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "devserver:", err)
		os.Exit(1)
	}
}

func run() error {
	s, err := devstack.FromEnv(os.Getenv)
	if err != nil {
		return err
	}
	if err := devstack.Prepare(s); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return devstack.Run(ctx, s, os.Stdout, os.Stderr)
}
