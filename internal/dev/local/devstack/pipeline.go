package devstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/docproc/webhooks/internal/app"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/local/pipeline"
	"github.com/docproc/webhooks/internal/dev/local/poller"
	"github.com/docproc/webhooks/internal/dev/samtemplate"
)

// ensurePipeline creates the bus, rule and queues the template defines.
// It returns nil when the template defines no pipeline yet.
func (s Settings) ensurePipeline(ctx context.Context, awsCfg aws.Config, tmpl *samtemplate.Template, logOut io.Writer) (*pipeline.Resources, error) {
	if _, ok := tmpl.Resources[pipeline.RuleID]; !ok {
		fmt.Fprintf(logOut, "%s defines no %s yet: no event bus or queues are created.\n", s.Template, pipeline.RuleID)
		return nil, nil
	}
	res, err := pipeline.Ensure(ctx, awsCfg, tmpl, pipeline.Names{Bus: s.EventBusName})
	if err != nil {
		return nil, err
	}
	return &res, nil
}

// startPollers starts the fan-out and delivery handlers on pollers of
// res's queues, as Lambda's SQS mappings would run them, with the queue
// URLs and the bus of res, and the sweeper on a ticker, as the template's
// schedule runs it. It returns a function that stops them and waits for
// them.
func (s Settings) startPollers(ctx context.Context, awsCfg aws.Config, tmpl *samtemplate.Template, res pipeline.Resources, log *slog.Logger, metricsOut, logOut io.Writer) (func(), error) {
	fcfg, dcfg := s.Fanout, s.Delivery
	fcfg.DeliveryQueueURL, fcfg.RejectedQueueURL = res.Delivery().URL, res.Queues[pipeline.FanoutDeadLetterQueueID].URL
	fcfg.QueueURL = res.Fanout().URL
	dcfg.QueueURL, dcfg.EventBusName = res.Delivery().URL, res.Bus
	deliverer, err := app.NewDeliveryHandler(dcfg, awsCfg, log.With("function", pipeline.DeliveryFunctionID), metricsOut)
	if err != nil {
		return nil, err
	}
	fanout := app.NewFanoutHandler(fcfg, awsCfg, log.With("function", pipeline.FanoutFunctionID), metricsOut).Handle
	delivery := deliverer.Handle
	var configs []poller.Config
	for _, h := range []struct {
		function string
		handler  poller.Handler
	}{{pipeline.FanoutFunctionID, fanout}, {pipeline.DeliveryFunctionID, delivery}} {
		m, err := pipeline.ReadMapping(tmpl, h.function)
		if err != nil {
			return nil, err
		}
		q, ok := res.Queues[m.Queue]
		if !ok {
			return nil, fmt.Errorf("function %s reads %s, which is not a queue of the template", h.function, m.Queue)
		}
		configs = append(configs, poller.Config{
			Client: sqs.NewFromConfig(awsCfg), QueueURL: q.URL, QueueARN: q.ARN, Region: s.Region,
			BatchSize: m.BatchSize, Concurrency: m.MaximumConcurrency, Timeout: m.Timeout,
			ReportBatchItemFailures: m.ReportBatchItemFailures, Handler: h.handler,
			Logger: log.With("function", h.function),
		})
	}
	scfg := s.Sweeper
	scfg.QueueURL = res.Delivery().URL
	sweeper := app.NewSweeperHandler(scfg, awsCfg, log.With("function", pipeline.SweeperFunctionID), metricsOut)
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	errs := make(chan error, len(configs))
	for _, c := range configs {
		wg.Go(func() { errs <- poller.Run(pctx, c) })
	}
	wg.Go(func() { sweepEvery(pctx, s.SweepEvery, sweeper.Handle) })
	stop := func() {
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				fmt.Fprintf(logOut, "poller: %v\n", err)
			}
		}
	}
	return stop, nil
}

// sweepEvery runs sweep every interval until ctx ends, as the sweeper's
// schedule invokes it; a failed sweep is logged by the handler, and the
// next one takes up what it left.
func sweepEvery(ctx context.Context, interval time.Duration, sweep func(context.Context) (delivery.Swept, error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sctx, cancel := context.WithTimeout(ctx, time.Minute)
			_, _ = sweep(sctx)
			cancel()
		}
	}
}
