// Package config reads the functions' settings from their environment and
// fails fast, naming every missing or bad value at once.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/egress"
	"github.com/docproc/webhooks/internal/janitor"
	"github.com/docproc/webhooks/internal/metrics"
	"github.com/docproc/webhooks/internal/webhook"
)

// Environment variable names the functions read. template.yaml sets the
// same names; a test checks that the two agree.
const (
	EnvTableName    = "TABLE_NAME"
	EnvSecretPrefix = "SECRET_PREFIX"
	EnvKMSKeyID     = "SECRET_KMS_KEY_ID"
	EnvLogLevel     = "LOG_LEVEL"
	EnvMaxWebhooks  = "MAX_WEBHOOKS_PER_ACCOUNT"
	EnvOrphanMinAge = "ORPHAN_MIN_AGE"
	EnvKeyCacheTTL  = "API_KEY_CACHE_TTL"
	EnvNamespace    = "METRICS_NAMESPACE"

	// EnvDeliveryQueueURL is the delivery queue: the fan-out, the API's
	// manual sends (retries, recoveries, tests), the delivery function's
	// parked attempts and the sweeper send to it.
	EnvDeliveryQueueURL = "DELIVERY_QUEUE_URL"
	// EnvRejectedQueueURL is where the fan-out sets aside events it cannot
	// deliver (malformed, of an unknown type, too large).
	EnvRejectedQueueURL = "REJECTED_QUEUE_URL"
	// EnvFanoutQueueURL is the fan-out queue: the fan-out function holds
	// back an event whose fan-out failed by changing its visibility there.
	EnvFanoutQueueURL = "FANOUT_QUEUE_URL"
	// EnvRetrySchedule is the waits before retries (delivery.ParseSchedule).
	EnvRetrySchedule = "DELIVERY_RETRY_SCHEDULE"
	// EnvDeliveryTimeout is the time limit of one delivery attempt.
	EnvDeliveryTimeout = "DELIVERY_TIMEOUT"
	// EnvHorizon is how long after its series began a delivery may still
	// be retried.
	EnvHorizon = "DELIVERY_HORIZON"
	// EnvEndpointConcurrency is how many attempts one endpoint may have
	// in progress at once.
	EnvEndpointConcurrency = "ENDPOINT_CONCURRENCY"
	// EnvDisableAfter is how long an endpoint's attempts must all have
	// failed before it is disabled (delivery.DisableAfterAttempts of them
	// in a row at least).
	EnvDisableAfter = "DISABLE_AFTER"
	// EnvRetentionDays is how many days events and attempt records are kept.
	EnvRetentionDays = "RECORD_RETENTION_DAYS"
	// EnvEventBusName is the stack's event bus: the delivery function
	// publishes its operational notices there, and `make run` creates it
	// under this name.
	EnvEventBusName = "EVENT_BUS_NAME"
	// EnvAllowedCIDRs lists private networks deliveries may reach (local
	// only; see LocalOnly).
	EnvAllowedCIDRs = "ALLOWED_DESTINATION_CIDRS"
	// EnvCAFile is a PEM file of extra roots trusted for deliveries (local
	// only; see LocalOnly).
	EnvCAFile = "DELIVERY_CA_FILE"
)

// Log formats. Lambda's advanced logging controls set AWS_LAMBDA_LOG_FORMAT
// to JSON or Text; JSON is the default.
const (
	LogFormatJSON = "json"
	LogFormatText = "text"
)

// DefaultKeyCacheTTL is how long a warm function trusts a looked-up API
// key; MaxKeyCacheTTL bounds how long a revoked key can keep working.
const (
	DefaultKeyCacheTTL = 30 * time.Second
	MaxKeyCacheTTL     = 5 * time.Minute
)

// MaxWebhooksCeiling bounds MAX_WEBHOOKS_PER_ACCOUNT: every webhook is a
// Secrets Manager secret, billed monthly.
const MaxWebhooksCeiling = 10000

// MinOrphanAge is the smallest ORPHAN_MIN_AGE accepted: well above the
// function timeout, so a create that is still running is never judged.
const MinOrphanAge = time.Minute

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

// How long an endpoint's attempts must all have failed before it is
// disabled.
const (
	// DefaultDisableAfter is DISABLE_AFTER when unset: 5 days, after Svix.
	DefaultDisableAfter = 120 * time.Hour
	// MinDisableAfter is the shortest DISABLE_AFTER accepted.
	MinDisableAfter = time.Hour
	// MinHorizon is the shortest DELIVERY_HORIZON accepted.
	MinHorizon = time.Hour
	// MaxEndpointConcurrency is the largest ENDPOINT_CONCURRENCY accepted:
	// one gate item takes every entry and exit of its endpoint, two
	// writes an attempt, and one item holds about 1,000 writes a second.
	MaxEndpointConcurrency = 100
)

// Record retention, in days: events and attempt records expire after it.
const (
	// DefaultRetentionDays is RECORD_RETENTION_DAYS when unset.
	DefaultRetentionDays = 30
	// MaxRetentionDays is the largest RECORD_RETENTION_DAYS accepted.
	MaxRetentionDays = 365
)

// Required lists the variables the API function needs set and not empty.
var Required = []string{EnvTableName, EnvSecretPrefix, EnvDeliveryQueueURL}

// Optional lists the variables the API function reads that may be absent
// and that template.yaml declares (LocalOnly lists those it does not).
var Optional = []string{EnvKMSKeyID, EnvLogLevel, EnvMaxWebhooks, EnvKeyCacheTTL, EnvNamespace, EnvRetentionDays}

// JanitorRequired lists the variables the janitor needs set and not empty.
var JanitorRequired = []string{EnvTableName, EnvSecretPrefix}

// JanitorOptional lists the variables the janitor reads that may be absent.
var JanitorOptional = []string{EnvLogLevel, EnvOrphanMinAge}

// FanoutRequired lists the variables the fan-out function needs set and
// not empty.
var FanoutRequired = []string{EnvTableName, EnvDeliveryQueueURL, EnvRejectedQueueURL, EnvFanoutQueueURL}

// FanoutOptional lists the variables the fan-out function reads that may be
// absent.
var FanoutOptional = []string{EnvRetentionDays, EnvLogLevel, EnvNamespace}

// DeliveryRequired lists the variables the delivery function needs set and
// not empty.
var DeliveryRequired = []string{EnvTableName, EnvDeliveryQueueURL, EnvEventBusName}

// DeliveryOptional lists the variables the delivery function reads that may
// be absent, LocalOnly ones included.
var DeliveryOptional = []string{EnvRetrySchedule, EnvDeliveryTimeout, EnvHorizon, EnvEndpointConcurrency, EnvDisableAfter, EnvRetentionDays,
	EnvLogLevel, EnvNamespace, EnvAllowedCIDRs, EnvCAFile}

// SweeperRequired lists the variables the sweeper function needs set and
// not empty.
var SweeperRequired = []string{EnvTableName, EnvDeliveryQueueURL}

// SweeperOptional lists the variables the sweeper function reads that may
// be absent.
var SweeperOptional = []string{EnvLogLevel, EnvNamespace}

// LocalOnly lists variables the functions read that template.yaml never
// sets: they loosen the API's and the delivery function's checks for a
// laptop (ALLOWED_DESTINATION_CIDRS lets a webhook be registered for and
// delivered to a receiver on loopback or a private network;
// DELIVERY_CA_FILE trusts a self-signed receiver's CA) and have no place in
// AWS.
var LocalOnly = []string{EnvAllowedCIDRs, EnvCAFile}

// SDKVariables lists variables the template declares for the AWS SDK
// rather than for this package: AWS_ENDPOINT_URL, empty in AWS, lets
// `sam local invoke` point the function at a local emulator.
var SDKVariables = []string{"AWS_ENDPOINT_URL"}

// APIFunction is the API function's settings.
type APIFunction struct {
	// TableName is the DynamoDB table holding webhooks and API keys.
	TableName string
	// SecretNamePrefix is the Secrets Manager name prefix for signing secrets.
	SecretNamePrefix string
	// KMSKeyID is an optional customer-managed KMS key for the secrets.
	KMSKeyID string
	// LogLevel is the minimum level logged.
	LogLevel slog.Level
	// MaxWebhooks is how many webhooks one account may hold in one mode.
	MaxWebhooks int
	// KeyCacheTTL is how long a looked-up API key is trusted; 0 turns the
	// cache off.
	KeyCacheTTL time.Duration
	// LogFormat is LogFormatJSON or LogFormatText.
	LogFormat string
	// MetricsNamespace is the CloudWatch namespace of the EMF metrics.
	MetricsNamespace string
	// AllowedDestinations are the private prefixes a webhook url may point
	// to (ALLOWED_DESTINATION_CIDRS); empty allows nothing private.
	AllowedDestinations []netip.Prefix
	// DeliveryQueueURL is the delivery queue, which takes the manual
	// sends: retries, recovered events and test events.
	DeliveryQueueURL string
	// Retention is how long test events and the records of manual sends
	// are kept, as the fan-out and delivery functions keep theirs.
	Retention time.Duration
}

// JanitorFunction is the janitor function's settings.
type JanitorFunction struct {
	// TableName is the DynamoDB table holding webhooks.
	TableName string
	// SecretNamePrefix is the Secrets Manager name prefix for signing secrets.
	SecretNamePrefix string
	// LogLevel is the minimum level logged.
	LogLevel slog.Level
	// LogFormat is LogFormatJSON or LogFormatText.
	LogFormat string
	// MinAge is how old an orphan secret must be before it is deleted.
	MinAge time.Duration
}

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

// reader collects the problems of one environment.
type reader struct {
	getenv   func(string) string
	problems []string
}

// require reads variables that must be set, reporting each missing one.
func (r *reader) require(names []string) {
	for _, name := range names {
		if strings.TrimSpace(r.getenv(name)) == "" {
			r.problems = append(r.problems, name+" is not set")
		}
	}
}

// prefix reads SECRET_PREFIX without a trailing slash.
func (r *reader) prefix() string {
	p := strings.TrimSuffix(r.getenv(EnvSecretPrefix), "/")
	if p != "" && strings.ContainsAny(p, "*? ") {
		r.problems = append(r.problems, EnvSecretPrefix+" must be a plain Secrets Manager name prefix")
	}
	return p
}

// level reads the log level. Lambda's advanced logging controls set
// AWS_LAMBDA_LOG_LEVEL; it wins over LOG_LEVEL.
func (r *reader) level() slog.Level {
	var l slog.Level
	v := r.getenv("AWS_LAMBDA_LOG_LEVEL")
	if v == "" {
		v = r.getenv(EnvLogLevel)
	}
	if v != "" {
		if err := l.UnmarshalText([]byte(v)); err != nil {
			r.problems = append(r.problems, fmt.Sprintf("%s %q is not one of DEBUG, INFO, WARN, ERROR", EnvLogLevel, v))
		}
	}
	return l
}

// format reads AWS_LAMBDA_LOG_FORMAT.
func (r *reader) format() string {
	switch v := r.getenv("AWS_LAMBDA_LOG_FORMAT"); {
	case v == "" || strings.EqualFold(v, "JSON"):
		return LogFormatJSON
	case strings.EqualFold(v, "Text"):
		return LogFormatText
	default:
		r.problems = append(r.problems, fmt.Sprintf("AWS_LAMBDA_LOG_FORMAT %q is not JSON or Text", v))
		return LogFormatJSON
	}
}

// duration reads the Go duration in name, def when it is unset. It must
// lie from least to most; a most of 0 means no upper bound.
func (r *reader) duration(name string, def, least, most time.Duration) time.Duration {
	v := r.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	switch {
	case most > 0 && (err != nil || d < least || d > most):
		r.problems = append(r.problems, fmt.Sprintf("%s %q is not a duration from %s to %s", name, v, least, most))
	case err != nil || d < least:
		r.problems = append(r.problems, fmt.Sprintf("%s %q is not a duration of at least %s, such as 1h", name, v, least))
	}
	return d
}

// whole reads the whole number in name, def when it is unset. It must lie
// from least to most.
func (r *reader) whole(name string, def, least, most int) int {
	v := r.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < least || n > most {
		r.problems = append(r.problems, fmt.Sprintf("%s %q is not a whole number from %d to %d", name, v, least, most))
	}
	return n
}

// retention reads RECORD_RETENTION_DAYS: whole days from 1 to
// MaxRetentionDays, DefaultRetentionDays when unset.
func (r *reader) retention() time.Duration {
	days := DefaultRetentionDays
	if v := r.getenv(EnvRetentionDays); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxRetentionDays {
			r.problems = append(r.problems, fmt.Sprintf("%s %q is not a whole number of days from 1 to %d", EnvRetentionDays, v, MaxRetentionDays))
		}
		days = n
	}
	return time.Duration(days) * 24 * time.Hour
}

// schedule reads DELIVERY_RETRY_SCHEDULE, delivery.DefaultSchedule when
// unset.
func (r *reader) schedule() delivery.Schedule {
	v := r.getenv(EnvRetrySchedule)
	if v == "" {
		return slices.Clone(delivery.DefaultSchedule)
	}
	s, err := delivery.ParseSchedule(v)
	if err != nil {
		r.problems = append(r.problems, fmt.Sprintf("%s %q: %v", EnvRetrySchedule, v, err))
	}
	return s
}

// allowed reads ALLOWED_DESTINATION_CIDRS.
func (r *reader) allowed() []netip.Prefix {
	allowed, err := egress.ParseCIDRs(r.getenv(EnvAllowedCIDRs))
	if err != nil {
		r.problems = append(r.problems, fmt.Sprintf("%s %q: %v (want a comma-separated list such as 127.0.0.1/32,10.1.0.0/16)",
			EnvAllowedCIDRs, r.getenv(EnvAllowedCIDRs), err))
	}
	return allowed
}

// err returns the problems found, if any, as one error.
func (r *reader) err() error {
	if len(r.problems) == 0 {
		return nil
	}
	return errors.New("configuration: " + strings.Join(r.problems, "; "))
}

// LoadAPIFunction reads the API function's settings through getenv (os.Getenv in
// main, a map in tests).
func LoadAPIFunction(getenv func(string) string) (APIFunction, error) {
	r := &reader{getenv: getenv}
	r.require(Required)
	c := APIFunction{
		TableName:        getenv(EnvTableName),
		SecretNamePrefix: r.prefix(),
		KMSKeyID:         getenv(EnvKMSKeyID),
		LogLevel:         r.level(),
		MaxWebhooks:      webhook.DefaultLimit,
		LogFormat:        r.format(),
		MetricsNamespace: cmp.Or(getenv(EnvNamespace), metrics.DefaultNamespace),
		KeyCacheTTL:      r.duration(EnvKeyCacheTTL, DefaultKeyCacheTTL, 0, MaxKeyCacheTTL),
		DeliveryQueueURL: getenv(EnvDeliveryQueueURL),
		Retention:        r.retention(),
	}
	if v := getenv(EnvMaxWebhooks); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxWebhooksCeiling {
			r.problems = append(r.problems, fmt.Sprintf("%s %q is not a whole number from 1 to %d", EnvMaxWebhooks, v, MaxWebhooksCeiling))
		}
		c.MaxWebhooks = n
	}
	c.AllowedDestinations = r.allowed()
	if err := r.err(); err != nil {
		return APIFunction{}, err
	}
	return c, nil
}

// LoadJanitorFunction reads the janitor function's settings through getenv.
func LoadJanitorFunction(getenv func(string) string) (JanitorFunction, error) {
	r := &reader{getenv: getenv}
	r.require(JanitorRequired)
	c := JanitorFunction{
		TableName:        getenv(EnvTableName),
		SecretNamePrefix: r.prefix(),
		LogLevel:         r.level(),
		LogFormat:        r.format(),
		MinAge:           r.duration(EnvOrphanMinAge, janitor.DefaultMinAge, MinOrphanAge, 0),
	}
	if err := r.err(); err != nil {
		return JanitorFunction{}, err
	}
	return c, nil
}

// LoadFanoutFunction reads the fan-out function's settings through getenv.
func LoadFanoutFunction(getenv func(string) string) (FanoutFunction, error) {
	r := &reader{getenv: getenv}
	r.require(FanoutRequired)
	c := FanoutFunction{
		TableName:        getenv(EnvTableName),
		DeliveryQueueURL: getenv(EnvDeliveryQueueURL),
		RejectedQueueURL: getenv(EnvRejectedQueueURL),
		QueueURL:         getenv(EnvFanoutQueueURL),
		Retention:        r.retention(),
		LogLevel:         r.level(),
		LogFormat:        r.format(),
		MetricsNamespace: cmp.Or(getenv(EnvNamespace), metrics.DefaultNamespace),
	}
	if err := r.err(); err != nil {
		return FanoutFunction{}, err
	}
	return c, nil
}

// LoadSweeperFunction reads the sweeper function's settings through getenv.
func LoadSweeperFunction(getenv func(string) string) (SweeperFunction, error) {
	r := &reader{getenv: getenv}
	r.require(SweeperRequired)
	c := SweeperFunction{
		TableName:        getenv(EnvTableName),
		QueueURL:         getenv(EnvDeliveryQueueURL),
		LogLevel:         r.level(),
		LogFormat:        r.format(),
		MetricsNamespace: cmp.Or(getenv(EnvNamespace), metrics.DefaultNamespace),
	}
	if err := r.err(); err != nil {
		return SweeperFunction{}, err
	}
	return c, nil
}

// LoadDeliveryFunction reads the delivery function's settings through getenv.
func LoadDeliveryFunction(getenv func(string) string) (DeliveryFunction, error) {
	r := &reader{getenv: getenv}
	r.require(DeliveryRequired)
	c := DeliveryFunction{
		TableName:           getenv(EnvTableName),
		QueueURL:            getenv(EnvDeliveryQueueURL),
		EventBusName:        getenv(EnvEventBusName),
		Schedule:            r.schedule(),
		Timeout:             r.duration(EnvDeliveryTimeout, DefaultDeliveryTimeout, MinDeliveryTimeout, MaxDeliveryTimeout),
		Horizon:             r.duration(EnvHorizon, delivery.DefaultHorizon, MinHorizon, delivery.MaxHorizon),
		EndpointConcurrency: r.whole(EnvEndpointConcurrency, delivery.DefaultConcurrency, 1, MaxEndpointConcurrency),
		DisableAfter:        r.duration(EnvDisableAfter, DefaultDisableAfter, MinDisableAfter, 0),
		Retention:           r.retention(),
		AllowedDestinations: r.allowed(),
		CAFile:              strings.TrimSpace(getenv(EnvCAFile)),
		LogLevel:            r.level(),
		LogFormat:           r.format(),
		MetricsNamespace:    cmp.Or(getenv(EnvNamespace), metrics.DefaultNamespace),
	}
	if err := r.err(); err != nil {
		return DeliveryFunction{}, err
	}
	return c, nil
}
