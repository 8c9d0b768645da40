// Command apikey issues, lists and revokes API keys in the service's table
// (see the README). It uses the standard AWS configuration chain, so
// AWS_ENDPOINT_URL points it at `make run`'s emulator; TABLE_NAME defaults
// to the table `make run` uses.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/docproc/webhooks/internal/awsconf/chain"
	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/keyadmin"
)

func main() {
	if keyadmin.Help(os.Args[1:], os.Stdout) {
		return
	}
	// Usage errors first: they need no AWS configuration.
	cmd, err := keyadmin.Parse(os.Args[1:])
	if errors.Is(err, keyadmin.ErrUsage) {
		fmt.Fprintf(os.Stderr, "apikey: %v\n\n%s", err, keyadmin.Usage)
		os.Exit(2)
	}
	ctx := context.Background()
	var cfg aws.Config
	if endpoint := os.Getenv("AWS_ENDPOINT_URL"); endpoint != "" {
		cfg, err = chain.ForEndpoint(ctx, endpoint, cmp.Or(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"), "us-east-1"))
	} else {
		cfg, err = chain.Load(ctx)
	}
	if err == nil {
		store := dynamo.New(dynamo.NewClient(cfg), cmp.Or(os.Getenv("TABLE_NAME"), "webhooks-local"))
		err = cmd.Run(ctx, store, os.Stdout, time.Now())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "apikey:", err)
		os.Exit(1)
	}
}
