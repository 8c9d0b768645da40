// Package app assembles the service: it connects the domain to its AWS
// adapters from configuration. The Lambda entry points (functions/*) and
// the local server use it, so they run the same code.
package app

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/docproc/webhooks/internal/api"
	"github.com/docproc/webhooks/internal/apikey"
	"github.com/docproc/webhooks/internal/awsconf"
	"github.com/docproc/webhooks/internal/bus"
	"github.com/docproc/webhooks/internal/config"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/egress"
	"github.com/docproc/webhooks/internal/janitor"
	"github.com/docproc/webhooks/internal/metrics"
	"github.com/docproc/webhooks/internal/queue"
	"github.com/docproc/webhooks/internal/redact"
	"github.com/docproc/webhooks/internal/secrets"
	"github.com/docproc/webhooks/internal/sender"
	"github.com/docproc/webhooks/internal/webhook"
	"github.com/docproc/webhooks/internal/worker"
)

// Logger returns the logger every component writes to: JSON, or text
// when format is "text" (Lambda's AWS_LAMBDA_LOG_FORMAT=Text). Every line
// passes through redact first, so an API key or a signing secret that a
// caller put in a path or a query string is never written whole.
func Logger(w io.Writer, level slog.Level, format string) *slog.Logger {
	w = redact.Writer(w)
	opts := &slog.HandlerOptions{Level: level}
	if format == config.LogFormatText {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// Parts are the assembled pieces, exposed for the tools that seed data.
type Parts struct {
	// Handler serves the API.
	Handler *api.Handler
	// Store is the DynamoDB adapter of the service's one table: API keys,
	// webhooks, events, deliveries and what keeps them consistent.
	Store *dynamo.Store
	// DynamoDB is the client the Store uses, for creating tables locally.
	DynamoDB *dynamodb.Client
}

// New builds the handler and its adapters. It makes no network calls.
// Metrics (EMF lines) go to metricsOut, Lambda's stdout.
func New(cfg config.APIFunction, awsCfg aws.Config, log *slog.Logger, metricsOut io.Writer) Parts {
	awsCfg.APIOptions = append(slices.Clone(awsCfg.APIOptions), metrics.SDKMiddleware)
	db := dynamo.NewClient(awsCfg)
	store := dynamo.New(db, cfg.TableName)
	sec := secrets.New(secretsmanager.NewFromConfig(awsCfg), cfg.SecretNamePrefix, cfg.KMSKeyID)
	svc := webhook.NewService(store, store, sec, log, webhook.Options{Limit: cfg.MaxWebhooks})
	deliveries := &delivery.Manager{Endpoints: svc, History: store, Resends: store, Events: store,
		Queue: queue.New(sqs.NewFromConfig(awsCfg), cfg.DeliveryQueueURL), Limiter: store, Idempotency: svc,
		Retention: cfg.Retention}
	return Parts{
		Handler: api.New(apikey.NewAuthenticator(apikey.NewCache(store, cfg.KeyCacheTTL)), svc, deliveries, log,
			metrics.New(metricsOut, cfg.MetricsNamespace), egressRules(cfg.AllowedDestinations)),
		Store:    store,
		DynamoDB: db,
	}
}

// egressRules returns the egress rules of a deployment: the default rules
// plus its allowed private prefixes (ALLOWED_DESTINATION_CIDRS).
// Registration (New, for the API) and delivery (NewDeliveryHandler, for
// the sender) both build their rules here, so that a url the API accepts
// is one the sender may dial.
func egressRules(allowed []netip.Prefix) egress.Rules {
	return egress.Rules{Allow: allowed}
}

// NewJanitor builds the janitor, which deletes orphan signing secrets and
// prunes the expired ones rotations left. It makes no network calls.
func NewJanitor(cfg config.JanitorFunction, awsCfg aws.Config, log *slog.Logger) *janitor.Janitor {
	store := dynamo.New(dynamo.NewClient(awsCfg), cfg.TableName)
	sec := secrets.New(secretsmanager.NewFromConfig(awsCfg), cfg.SecretNamePrefix, "")
	return janitor.New(store, sec, store, webhook.NewService(store, store, sec, log, webhook.Options{}), cfg.MinAge, log)
}

// NewFanoutHandler builds the fan-out function's handler. It makes no network
// calls.
func NewFanoutHandler(cfg config.FanoutFunction, awsCfg aws.Config, log *slog.Logger, metricsOut io.Writer) *worker.FanoutHandler {
	store := dynamo.New(dynamo.NewClient(awsCfg), cfg.TableName)
	sqsClient := sqs.NewFromConfig(awsCfg)
	return &worker.FanoutHandler{
		Fanout:  &delivery.Fanout{Subscribers: store, Events: store, Queue: queue.New(sqsClient, cfg.DeliveryQueueURL), Retention: cfg.Retention},
		Rejects: queue.New(sqsClient, cfg.RejectedQueueURL),
		Queue:   queue.New(sqsClient, cfg.QueueURL),
		Log:     log,
		Metrics: metrics.New(metricsOut, cfg.MetricsNamespace),
	}
}

// NewDeliveryHandler builds the delivery function's handler. It makes no
// network calls; it fails when the sender cannot be built (an unreadable
// DELIVERY_CA_FILE).
func NewDeliveryHandler(cfg config.DeliveryFunction, awsCfg aws.Config, log *slog.Logger, metricsOut io.Writer) (*worker.DeliveryHandler, error) {
	send, err := sender.New(sender.Options{Timeout: cfg.Timeout, CAFile: cfg.CAFile, Rules: egressRules(cfg.AllowedDestinations)})
	if err != nil {
		return nil, fmt.Errorf("delivery sender: %w", err)
	}
	store := dynamo.New(dynamo.NewClient(awsCfg), cfg.TableName)
	q := queue.New(sqs.NewFromConfig(awsCfg), cfg.QueueURL)
	return &worker.DeliveryHandler{
		Deliverer: &delivery.Deliverer{Store: store, Secrets: secrets.New(secretsmanager.NewFromConfig(awsCfg), "", ""),
			Sender: send, Schedule: cfg.Schedule, DisableAfter: cfg.DisableAfter, Retention: cfg.Retention,
			Horizon: cfg.Horizon, Notifier: bus.New(eventbridge.NewFromConfig(awsCfg), cfg.EventBusName), Queue: q,
			Gates: store, Parking: store, Concurrency: cfg.EndpointConcurrency},
		Queue:   q,
		Log:     log,
		Metrics: metrics.New(metricsOut, cfg.MetricsNamespace),
	}, nil
}

// NewSweeperHandler builds the sweeper function's handler. It makes no network
// calls.
func NewSweeperHandler(cfg config.SweeperFunction, awsCfg aws.Config, log *slog.Logger, metricsOut io.Writer) *worker.SweeperHandler {
	store := dynamo.New(dynamo.NewClient(awsCfg), cfg.TableName)
	return &worker.SweeperHandler{
		Sweeper: &delivery.Sweeper{Parking: store, Queue: queue.New(sqs.NewFromConfig(awsCfg), cfg.QueueURL)},
		Log:     log,
		Metrics: metrics.New(metricsOut, cfg.MetricsNamespace),
	}
}

// Main is the body of a Lambda entry point: it reads the function's
// settings with load, then the AWS configuration, and hands both to start.
// A failure prints the reason and exits, which Lambda reports as an init
// error naming it.
func Main[C any](load func(getenv func(string) string) (C, error), start func(C, aws.Config)) {
	cfg, err := load(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	awsCfg, err := awsconf.FromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	start(cfg, awsCfg)
}
