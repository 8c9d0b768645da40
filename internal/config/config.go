// Package config reads the functions' settings from their environment and
// fails fast, naming every missing or bad value at once.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

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
	// EnvAllowedCIDRs lists private prefixes webhooks may be registered
	// for and delivered to (egress.ParseCIDRs); template.yaml never sets
	// it, so it is in LocalOnly.
	EnvAllowedCIDRs = "ALLOWED_DESTINATION_CIDRS"
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

// Required lists the variables the API function needs set and not empty.
var Required = []string{EnvTableName, EnvSecretPrefix}

// Optional lists the variables the API function reads that may be absent
// and that template.yaml declares (LocalOnly lists those it does not).
var Optional = []string{EnvKMSKeyID, EnvLogLevel, EnvMaxWebhooks, EnvKeyCacheTTL, EnvNamespace}

// LocalOnly lists variables the API function reads that template.yaml
// does not declare: the deployed stack never sets them, and an operator or
// a local run (the devserver, tests) may. ALLOWED_DESTINATION_CIDRS lets a
// local stack register and deliver to a receiver on loopback or a private
// network.
var LocalOnly = []string{EnvAllowedCIDRs}

// JanitorRequired lists the variables the janitor needs set and not empty.
var JanitorRequired = []string{EnvTableName, EnvSecretPrefix}

// JanitorOptional lists the variables the janitor reads that may be absent.
var JanitorOptional = []string{EnvLogLevel, EnvOrphanMinAge}

// SDKVariables lists variables the template declares for the AWS SDK
// rather than for this package: AWS_ENDPOINT_URL, empty in AWS, lets
// `sam local invoke` point the function at a local emulator.
var SDKVariables = []string{"AWS_ENDPOINT_URL"}

// Config is the API function's settings.
type Config struct {
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
}

// Janitor is the janitor function's settings.
type Janitor struct {
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

// err returns the problems found, if any, as one error.
func (r *reader) err() error {
	if len(r.problems) == 0 {
		return nil
	}
	return errors.New("configuration: " + strings.Join(r.problems, "; "))
}

// Load reads the API function's settings through getenv (os.Getenv in
// main, a map in tests).
func Load(getenv func(string) string) (Config, error) {
	r := &reader{getenv: getenv}
	r.require(Required)
	c := Config{
		TableName:        getenv(EnvTableName),
		SecretNamePrefix: r.prefix(),
		KMSKeyID:         getenv(EnvKMSKeyID),
		LogLevel:         r.level(),
		MaxWebhooks:      webhook.DefaultLimit,
		LogFormat:        r.format(),
		MetricsNamespace: cmp.Or(getenv(EnvNamespace), metrics.DefaultNamespace),
		KeyCacheTTL:      r.duration(EnvKeyCacheTTL, DefaultKeyCacheTTL, 0, MaxKeyCacheTTL),
	}
	if v := getenv(EnvMaxWebhooks); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxWebhooksCeiling {
			r.problems = append(r.problems, fmt.Sprintf("%s %q is not a whole number from 1 to %d", EnvMaxWebhooks, v, MaxWebhooksCeiling))
		}
		c.MaxWebhooks = n
	}
	allowed, err := egress.ParseCIDRs(getenv(EnvAllowedCIDRs))
	if err != nil {
		r.problems = append(r.problems, fmt.Sprintf("%s %q: %v (want a comma-separated list such as 127.0.0.1/32,10.1.0.0/16)",
			EnvAllowedCIDRs, getenv(EnvAllowedCIDRs), err))
	}
	c.AllowedDestinations = allowed
	if err := r.err(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// LoadJanitor reads the janitor function's settings through getenv.
func LoadJanitor(getenv func(string) string) (Janitor, error) {
	r := &reader{getenv: getenv}
	r.require(JanitorRequired)
	c := Janitor{
		TableName:        getenv(EnvTableName),
		SecretNamePrefix: r.prefix(),
		LogLevel:         r.level(),
		LogFormat:        r.format(),
		MinAge:           r.duration(EnvOrphanMinAge, janitor.DefaultMinAge, MinOrphanAge, 0),
	}
	if err := r.err(); err != nil {
		return Janitor{}, err
	}
	return c, nil
}
