// Command delivery is the Lambda entry point of delivery: SQS hands it
// delivery messages, and it makes each one's next signed attempt. It holds
// no logic.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/docproc/webhooks/internal/app"
	"github.com/docproc/webhooks/internal/config"
)

func main() {
	app.Main(config.LoadDeliveryFunction, func(cfg config.DeliveryFunction, awsCfg aws.Config) {
		h, err := app.NewDeliveryHandler(cfg, awsCfg, app.Logger(os.Stdout, cfg.LogLevel, cfg.LogFormat), os.Stdout)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		lambda.Start(h.Handle)
	})
}
