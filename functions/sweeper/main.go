// Command sweeper is the Lambda entry point of the parked deliveries'
// sweep: every minute a schedule invokes it, and it queues the message of
// each delivery whose next attempt is near, or whose delayed message was
// lost. It holds no logic.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/docproc/webhooks/internal/app"
	"github.com/docproc/webhooks/internal/config"
)

func main() {
	app.Main(config.LoadSweeperFunction, func(cfg config.SweeperFunction, awsCfg aws.Config) {
		lambda.Start(app.NewSweeperHandler(cfg, awsCfg, app.Logger(os.Stdout, cfg.LogLevel, cfg.LogFormat), os.Stdout).Handle)
	})
}
