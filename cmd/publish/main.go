// Command publish publishes one document event to `make run`'s event bus,
// as the platform does, and prints the id EventBridge gave it: the way to
// try deliveries locally with Go alone.
//
//	go run ./cmd/publish -type document.uploaded -data '{"document_id":"doc_1"}'
//
// It finds the emulator and the bus as make run does (AWS_ENDPOINT_URL,
// else EMULATOR_PORT; EVENT_BUS_NAME) and publishes for make run's dev
// account; -h lists the flags. See internal/dev/local/publish.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/docproc/webhooks/internal/dev/local/publish"
)

func main() {
	o, err := publish.ParseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "publish: %v\n", err)
		os.Exit(2)
	}
	id, err := publish.Run(context.Background(), o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "publish: %v\n", err)
		if errors.Is(err, publish.ErrUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "publish: %s for %s (%s mode) is on bus %s; its EventBridge id:\n", o.Event.Type, o.Event.Account, map[bool]string{true: "live", false: "test"}[o.Event.Livemode], o.Bus)
	fmt.Println(id)
}
