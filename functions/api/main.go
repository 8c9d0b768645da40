// Command api is the Lambda entry point of the webhook API. It reads its
// configuration, builds the clients once per cold start and serves API
// Gateway HTTP API (payload 2.0) events. It holds no logic.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/docproc/webhooks/internal/app"
	"github.com/docproc/webhooks/internal/awsconf"
	"github.com/docproc/webhooks/internal/config"
)

func main() {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	awsCfg, err := awsconf.Load(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	log := app.Logger(os.Stdout, cfg.LogLevel)
	lambda.Start(app.New(cfg, awsCfg, log).Handler.Handle)
}
