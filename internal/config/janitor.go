package config

import (
	"log/slog"
	"time"

	"github.com/docproc/webhooks/internal/janitor"
)

// MinOrphanAge is the smallest ORPHAN_MIN_AGE accepted: well above the
// function timeout, so a create that is still running is never judged.
const MinOrphanAge = time.Minute

// JanitorRequired lists the variables the janitor needs set and not empty.
var JanitorRequired = []string{EnvTableName, EnvSecretPrefix}

// JanitorOptional lists the variables the janitor reads that may be absent.
var JanitorOptional = []string{EnvLogLevel, EnvOrphanMinAge}

// JanitorFunction is the janitor function's settings.
type JanitorFunction struct {
	// TableName is the DynamoDB table holding webhooks and the secret
	// checks.
	TableName string
	// SecretNamePrefix is the Secrets Manager name prefix for signing secrets.
	SecretNamePrefix string
	// LogLevel is the minimum level logged.
	LogLevel slog.Level
	// LogFormat is LogFormatJSON or LogFormatText.
	LogFormat string
	// MinAge is how old a secret check must be before the janitor acts on
	// it: deletes an orphan secret, or prunes expired earlier ones.
	MinAge time.Duration
}

// LoadJanitorFunction reads the janitor function's settings through getenv.
func LoadJanitorFunction(getenv func(string) string) (JanitorFunction, error) {
	return load(getenv, JanitorRequired, func(r *reader) JanitorFunction {
		return JanitorFunction{
			TableName:        getenv(EnvTableName),
			SecretNamePrefix: r.prefix(),
			LogLevel:         r.level(),
			LogFormat:        r.format(),
			MinAge:           r.duration(EnvOrphanMinAge, janitor.DefaultMinAge, MinOrphanAge, 0),
		}
	})
}
