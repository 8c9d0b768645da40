package config

import (
	"log/slog"
	"net/netip"
	"time"

	"github.com/docproc/webhooks/internal/webhook"
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

// APIRequired lists the variables the API function needs set and not empty.
var APIRequired = []string{EnvTableName, EnvSecretPrefix, EnvDeliveryQueueURL}

// APIOptional lists the variables the API function reads that may be absent
// and that template.yaml declares (LocalOnly lists those it does not).
var APIOptional = []string{EnvKMSKeyID, EnvLogLevel, EnvMaxWebhooks, EnvKeyCacheTTL, EnvNamespace, EnvRetentionDays}

// APIFunction is the API function's settings.
type APIFunction struct {
	// TableName is the service's DynamoDB table: API keys, webhooks, and
	// the deliveries and events the delivery routes read and write.
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

// LoadAPIFunction reads the API function's settings through getenv.
func LoadAPIFunction(getenv func(string) string) (APIFunction, error) {
	return load(getenv, APIRequired, func(r *reader) APIFunction {
		return APIFunction{
			TableName:           getenv(EnvTableName),
			SecretNamePrefix:    r.prefix(),
			KMSKeyID:            getenv(EnvKMSKeyID),
			LogLevel:            r.level(),
			MaxWebhooks:         r.whole(EnvMaxWebhooks, webhook.DefaultLimit, 1, MaxWebhooksCeiling),
			LogFormat:           r.format(),
			MetricsNamespace:    r.namespace(),
			KeyCacheTTL:         r.duration(EnvKeyCacheTTL, DefaultKeyCacheTTL, 0, MaxKeyCacheTTL),
			DeliveryQueueURL:    getenv(EnvDeliveryQueueURL),
			Retention:           r.retention(),
			AllowedDestinations: r.allowed(),
		}
	})
}
