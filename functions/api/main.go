// Command api is the Lambda entry point of the webhook API. It reads its
// configuration, builds the clients once per cold start and serves API
// Gateway HTTP API (payload 2.0) events. It holds no logic.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/docproc/webhooks/internal/app"
	"github.com/docproc/webhooks/internal/config"
)

func main() {
	app.Main(config.LoadAPIFunction, func(cfg config.APIFunction, awsCfg aws.Config) {
		lambda.Start(app.New(cfg, awsCfg, app.Logger(os.Stdout, cfg.LogLevel, cfg.LogFormat), os.Stdout).Handler.Handle)
	})
}
