package config

import (
	"log/slog"
	"time"
)

// FanoutRequired lists the variables the fan-out function needs set and
// not empty.
var FanoutRequired = []string{EnvTableName, EnvDeliveryQueueURL, EnvRejectedQueueURL, EnvFanoutQueueURL}

// FanoutOptional lists the variables the fan-out function reads that may be
// absent.
var FanoutOptional = []string{EnvRetentionDays, EnvLogLevel, EnvNamespace}

// FanoutFunction is the fan-out function's settings.
type FanoutFunction struct {
	// TableName is the DynamoDB table holding webhooks and the event log.
	TableName string
	// DeliveryQueueURL is the queue that takes one message per endpoint.
	DeliveryQueueURL string
	// RejectedQueueURL is the queue events that cannot be delivered are
	// set aside on (the fan-out dead-letter queue in AWS).
	RejectedQueueURL string
	// QueueURL is the fan-out queue, where a failed event's visibility is
	// set to hold it back.
	QueueURL string
	// Retention is how long an event is remembered, so that a second
	// publish of its id is recognised.
	Retention time.Duration
	// LogLevel is the minimum level logged.
	LogLevel slog.Level
	// LogFormat is LogFormatJSON or LogFormatText.
	LogFormat string
	// MetricsNamespace is the CloudWatch namespace of the EMF metrics.
	MetricsNamespace string
}

// LoadFanoutFunction reads the fan-out function's settings through getenv.
func LoadFanoutFunction(getenv func(string) string) (FanoutFunction, error) {
	return load(getenv, FanoutRequired, func(r *reader) FanoutFunction {
		return FanoutFunction{
			TableName:        getenv(EnvTableName),
			DeliveryQueueURL: getenv(EnvDeliveryQueueURL),
			RejectedQueueURL: getenv(EnvRejectedQueueURL),
			QueueURL:         getenv(EnvFanoutQueueURL),
			Retention:        r.retention(),
			LogLevel:         r.level(),
			LogFormat:        r.format(),
			MetricsNamespace: r.namespace(),
		}
	})
}
