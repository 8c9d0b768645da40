// Command devserver runs the webhook API on this machine (`make run`): the
// in-process kumo AWS emulator, or the endpoint in AWS_ENDPOINT_URL, the
// table from template.yaml, a seeded dev API key, and the same handler
// Lambda runs, behind plain HTTP. See the README for its settings.
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
