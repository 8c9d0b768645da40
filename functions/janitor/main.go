// Command janitor is the Lambda entry point of the scheduled clean-up: it
// deletes signing secrets that no webhook holds and prunes the earlier
// secrets rotations kept once their grace period is over. EventBridge
// invokes it on a schedule; the result of each run is its report. It holds
// no logic.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/docproc/webhooks/internal/app"
	"github.com/docproc/webhooks/internal/config"
)

func main() {
	app.Main(config.LoadJanitorFunction, func(cfg config.JanitorFunction, awsCfg aws.Config) {
		lambda.Start(app.NewJanitor(cfg, awsCfg, app.Logger(os.Stdout, cfg.LogLevel, cfg.LogFormat)).Run)
	})
}
