package config

import "log/slog"

// SweeperRequired lists the variables the sweeper function needs set and
// not empty.
var SweeperRequired = []string{EnvTableName, EnvDeliveryQueueURL}

// SweeperOptional lists the variables the sweeper function reads that may
// be absent.
var SweeperOptional = []string{EnvLogLevel, EnvNamespace}

// SweeperFunction is the sweeper function's settings.
type SweeperFunction struct {
	// TableName is the DynamoDB table holding the parked deliveries.
	TableName string
	// QueueURL is the delivery queue, which takes their messages.
	QueueURL string
	// LogLevel is the minimum level logged.
	LogLevel slog.Level
	// LogFormat is LogFormatJSON or LogFormatText.
	LogFormat string
	// MetricsNamespace is the CloudWatch namespace of the EMF metrics.
	MetricsNamespace string
}

// LoadSweeperFunction reads the sweeper function's settings through getenv.
func LoadSweeperFunction(getenv func(string) string) (SweeperFunction, error) {
	return load(getenv, SweeperRequired, func(r *reader) SweeperFunction {
		return SweeperFunction{
			TableName:        getenv(EnvTableName),
			QueueURL:         getenv(EnvDeliveryQueueURL),
			LogLevel:         r.level(),
			LogFormat:        r.format(),
			MetricsNamespace: r.namespace(),
		}
	})
}
