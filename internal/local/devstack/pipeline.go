package devstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/docproc/webhooks/internal/local/pipeline"
	"github.com/docproc/webhooks/internal/local/poller"
	"github.com/docproc/webhooks/internal/samtemplate"
)

// startPipeline creates the bus, rule and queues the template defines
// and, with s.Pipeline, starts the fan-out and delivery handlers on
// pollers. It returns the bus's name ("" when the template defines no
// pipeline yet) and a function that stops the pollers and waits for them.
func (s Settings) startPipeline(ctx context.Context, awsCfg aws.Config, tmpl *samtemplate.Template, logOut io.Writer) (string, func(), error) {
	nothing := func() {}
	if _, ok := tmpl.Resources[pipeline.RuleID]; !ok {
		fmt.Fprintf(logOut, "%s defines no %s yet: no event bus or queues are created.\n", s.Template, pipeline.RuleID)
		return "", nothing, nil
	}
	res, err := pipeline.Ensure(ctx, awsCfg, tmpl, pipeline.Names{Bus: s.EventBusName})
	if err != nil {
		return "", nothing, err
	}
	if s.Pipeline == nil {
		fmt.Fprintf(logOut, "No fan-out or delivery handler is wired in yet: events wait in queue %s.\n", res.Fanout().Name)
		return res.Bus, nothing, nil
	}
	fanout, delivery, err := s.Pipeline(ctx, awsCfg, res)
	if err != nil {
		return "", nothing, fmt.Errorf("build the pipeline's handlers: %w", err)
	}
	var configs []poller.Config
	for _, h := range []struct {
		function string
		handler  poller.Handler
	}{{pipeline.FanoutFunctionID, fanout}, {pipeline.DeliveryFunctionID, delivery}} {
		m, err := pipeline.ReadMapping(tmpl, h.function)
		if err != nil {
			return "", nothing, err
		}
		q, ok := res.Queues[m.Queue]
		if !ok {
			return "", nothing, fmt.Errorf("function %s reads %s, which is not a queue of the template", h.function, m.Queue)
		}
		configs = append(configs, poller.Config{
			Client: sqs.NewFromConfig(awsCfg), QueueURL: q.URL, QueueARN: q.ARN, Region: s.Region,
			BatchSize: m.BatchSize, Concurrency: m.MaximumConcurrency, Timeout: m.Timeout,
			ReportBatchItemFailures: m.ReportBatchItemFailures, Handler: h.handler,
			Logger: slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: s.Function.LogLevel})).With("function", h.function),
		})
	}
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	errs := make(chan error, len(configs))
	for _, c := range configs {
		wg.Go(func() { errs <- poller.Run(pctx, c) })
	}
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
	return res.Bus, stop, nil
}
