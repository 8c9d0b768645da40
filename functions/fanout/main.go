// Command fanout is the Lambda entry point of the fan-out: SQS hands it
// the EventBridge events of the platform, and it queues one delivery
// message per endpoint that takes each. It holds no logic.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/docproc/webhooks/internal/app"
	"github.com/docproc/webhooks/internal/config"
)

func main() {
	app.Main(config.LoadFanoutFunction, func(cfg config.FanoutFunction, awsCfg aws.Config) {
		lambda.Start(app.NewFanoutHandler(cfg, awsCfg, app.Logger(os.Stdout, cfg.LogLevel, cfg.LogFormat), os.Stdout).Handle)
	})
}
