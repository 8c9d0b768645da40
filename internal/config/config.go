// Package config reads the API function's settings from its environment and
// fails fast, naming every missing or bad value at once.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Environment variable names the function reads. template.yaml sets the
// same names; a test checks that the two agree.
const (
	EnvTableName    = "TABLE_NAME"
	EnvSecretPrefix = "SECRET_PREFIX"
	EnvKMSKeyID     = "SECRET_KMS_KEY_ID"
	EnvLogLevel     = "LOG_LEVEL"
)

// Required lists the variables that must be set and not empty.
var Required = []string{EnvTableName, EnvSecretPrefix}

// Optional lists the variables that may be absent or empty.
var Optional = []string{EnvKMSKeyID, EnvLogLevel}

// SDKVariables lists variables the template declares for the AWS SDK
// rather than for this package: AWS_ENDPOINT_URL, empty in AWS, lets
// `sam local invoke` point the function at a local emulator.
var SDKVariables = []string{"AWS_ENDPOINT_URL"}

// Config is the function's settings.
type Config struct {
	// TableName is the DynamoDB table holding webhooks and API keys.
	TableName string
	// SecretPrefix is the Secrets Manager name prefix for signing secrets.
	SecretPrefix string
	// KMSKeyID is an optional customer-managed KMS key for the secrets.
	KMSKeyID string
	// LogLevel is the minimum level logged.
	LogLevel slog.Level
}

// Load reads the settings through getenv (os.Getenv in main, a map in tests).
func Load(getenv func(string) string) (Config, error) {
	var problems []string
	for _, name := range Required {
		if strings.TrimSpace(getenv(name)) == "" {
			problems = append(problems, name+" is not set")
		}
	}
	c := Config{
		TableName:    getenv(EnvTableName),
		SecretPrefix: strings.TrimSuffix(getenv(EnvSecretPrefix), "/"),
		KMSKeyID:     getenv(EnvKMSKeyID),
	}
	if c.SecretPrefix != "" && strings.ContainsAny(c.SecretPrefix, "*? ") {
		problems = append(problems, EnvSecretPrefix+" must be a plain Secrets Manager name prefix")
	}
	// Lambda's advanced logging controls set AWS_LAMBDA_LOG_LEVEL; it wins.
	level := getenv("AWS_LAMBDA_LOG_LEVEL")
	if level == "" {
		level = getenv(EnvLogLevel)
	}
	if level != "" {
		if err := c.LogLevel.UnmarshalText([]byte(level)); err != nil {
			problems = append(problems, fmt.Sprintf("%s %q is not one of DEBUG, INFO, WARN, ERROR", EnvLogLevel, level))
		}
	}
	if len(problems) > 0 {
		return Config{}, errors.New("configuration: " + strings.Join(problems, "; "))
	}
	return c, nil
}
