// Command firstdelivery is the delivery function's bootstrap as
// functions/delivery builds it, with a stopwatch (internal/dev/bench/stopwatch)
// on its AWS calls and its POSTs: after each invocation it writes to
// stderr what the stopwatch has measured since the process started.
// `make bench` runs it under the Runtime Interface Emulator to take a
// fresh instance's first delivery apart. It is never deployed.
package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/docproc/webhooks/internal/app"
	"github.com/docproc/webhooks/internal/config"
	"github.com/docproc/webhooks/internal/dev/bench/stopwatch"
)

func main() {
	begin := time.Now()
	app.Main(config.LoadDeliveryFunction, func(cfg config.DeliveryFunction, awsCfg aws.Config) {
		sw := stopwatch.New()
		awsCfg.APIOptions = append(slices.Clone(awsCfg.APIOptions), sw.Middleware)
		h, err := app.NewDeliveryHandler(cfg, awsCfg, app.Logger(os.Stdout, cfg.LogLevel, cfg.LogFormat), os.Stdout)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		ready := time.Since(begin)
		lambda.Start(func(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
			start := time.Now()
			resp, err := h.Handle(sw.Trace(ctx), batch)
			fmt.Fprint(os.Stderr, sw.Report(ready, time.Since(start)).Line())
			return resp, err
		})
	})
}
