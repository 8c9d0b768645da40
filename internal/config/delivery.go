package config

import (
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
)

// Delivery limits. The delivery function's Timeout in template.yaml is
// 60 s, and it attempts a batch of deliveries at once: one attempt's limit
// plus the writes that record it must fit in that, so an attempt may take
// at most MaxDeliveryTimeout, leaving 10 s.
const (
	// DefaultDeliveryTimeout is DELIVERY_TIMEOUT when unset.
	DefaultDeliveryTimeout = 15 * time.Second
	// MinDeliveryTimeout is the shortest DELIVERY_TIMEOUT accepted.
	MinDeliveryTimeout = time.Second
	// MaxDeliveryTimeout is the longest DELIVERY_TIMEOUT accepted.
	MaxDeliveryTimeout = 50 * time.Second
)

// Bounds of the delivery function's other settings; their defaults are
// the delivery package's (DefaultDisableAfter, DefaultHorizon,
// DefaultConcurrency).
const (
	// MinDisableAfter is the shortest DISABLE_AFTER accepted.
	MinDisableAfter = time.Hour
	// MinHorizon is the shortest DELIVERY_HORIZON accepted.
	MinHorizon = time.Hour
	// MaxEndpointConcurrency is the largest ENDPOINT_CONCURRENCY accepted:
	// one gate item takes every entry and exit of its endpoint, two
	// writes an attempt, and one item holds about 1,000 writes a second.
	MaxEndpointConcurrency = 100
)

// DeliveryRequired lists the variables the delivery function needs set and
// not empty.
var DeliveryRequired = []string{EnvTableName, EnvDeliveryQueueURL, EnvEventBusName}

// DeliveryOptional lists the variables the delivery function reads that may
// be absent, LocalOnly ones included.
var DeliveryOptional = []string{EnvRetrySchedule, EnvDeliveryTimeout, EnvHorizon, EnvEndpointConcurrency, EnvDisableAfter, EnvRetentionDays,
	EnvLogLevel, EnvNamespace, EnvAllowedCIDRs, EnvCAFile}

// DeliveryFunction is the delivery function's settings.
type DeliveryFunction struct {
	// TableName is the DynamoDB table holding webhooks and deliveries.
	TableName string
	// QueueURL is the delivery queue, which takes the parked attempts.
	QueueURL string
	// EventBusName is the event bus the operational notices (a webhook
	// disabled, a delivery out of attempts) are published to.
	EventBusName string
	// Schedule is the waits before each retry.
	Schedule delivery.Schedule
	// Timeout is the time limit of one attempt, from MinDeliveryTimeout to
	// MaxDeliveryTimeout.
	Timeout time.Duration
	// Horizon is how long after its series began a delivery may still be
	// retried, from MinHorizon to delivery.MaxHorizon.
	Horizon time.Duration
	// EndpointConcurrency is how many attempts one endpoint may have in
	// progress at once, from 1 to MaxEndpointConcurrency.
	EndpointConcurrency int
	// DisableAfter is how long every attempt to an endpoint must have
	// failed before it is disabled (delivery.DisableAfterAttempts of them
	// in a row at least).
	DisableAfter time.Duration
	// Retention is how long attempt records are kept.
	Retention time.Duration
	// AllowedDestinations are the private prefixes deliveries may reach
	// (ALLOWED_DESTINATION_CIDRS, such as 127.0.0.1/32), none by default.
	// Local only; template.yaml never sets it.
	AllowedDestinations []netip.Prefix
	// CAFile is DELIVERY_CA_FILE: a PEM file of root certificates trusted
	// for deliveries besides the system's, empty for none. Load only
	// passes the path on; the sender reads it when it is built, and the
	// caller must fail to start if it cannot (missing, unreadable, no
	// certificate). Local only; template.yaml never sets it.
	CAFile string
	// LogLevel is the minimum level logged.
	LogLevel slog.Level
	// LogFormat is LogFormatJSON or LogFormatText.
	LogFormat string
	// MetricsNamespace is the CloudWatch namespace of the EMF metrics.
	MetricsNamespace string
}

// LoadDeliveryFunction reads the delivery function's settings through getenv.
func LoadDeliveryFunction(getenv func(string) string) (DeliveryFunction, error) {
	return load(getenv, DeliveryRequired, func(r *reader) DeliveryFunction {
		return DeliveryFunction{
			TableName:           getenv(EnvTableName),
			QueueURL:            getenv(EnvDeliveryQueueURL),
			EventBusName:        getenv(EnvEventBusName),
			Schedule:            r.schedule(),
			Timeout:             r.duration(EnvDeliveryTimeout, DefaultDeliveryTimeout, MinDeliveryTimeout, MaxDeliveryTimeout),
			Horizon:             r.duration(EnvHorizon, delivery.DefaultHorizon, MinHorizon, delivery.MaxHorizon),
			EndpointConcurrency: r.whole(EnvEndpointConcurrency, delivery.DefaultConcurrency, 1, MaxEndpointConcurrency),
			DisableAfter:        r.duration(EnvDisableAfter, delivery.DefaultDisableAfter, MinDisableAfter, 0),
			Retention:           r.retention(),
			AllowedDestinations: r.allowed(),
			CAFile:              strings.TrimSpace(getenv(EnvCAFile)),
			LogLevel:            r.level(),
			LogFormat:           r.format(),
			MetricsNamespace:    r.namespace(),
		}
	})
}
