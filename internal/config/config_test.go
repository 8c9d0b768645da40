package config

import (
	"log/slog"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	c, err := Load(env(map[string]string{
		EnvTableName: "t", EnvSecretPrefix: "webhooks/stack/", EnvKMSKeyID: "arn:aws:kms:k", EnvLogLevel: "DEBUG"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.TableName != "t" || c.SecretPrefix != "webhooks/stack" || c.KMSKeyID != "arn:aws:kms:k" || c.LogLevel != slog.LevelDebug {
		t.Errorf("Load = %+v", c)
	}
	c, err = Load(env(map[string]string{EnvTableName: "t", EnvSecretPrefix: "p", EnvLogLevel: "DEBUG", "AWS_LAMBDA_LOG_LEVEL": "WARN"}))
	if err != nil || c.LogLevel != slog.LevelWarn {
		t.Errorf("AWS_LAMBDA_LOG_LEVEL should win: %+v %v", c, err)
	}
}

func TestLoadFailsFastNamingEveryProblem(t *testing.T) {
	_, err := Load(env(map[string]string{EnvSecretPrefix: " ", EnvLogLevel: "LOUD"}))
	if err == nil {
		t.Fatal("Load accepted a config with no table")
	}
	for _, want := range []string{"TABLE_NAME is not set", "SECRET_PREFIX is not set", `LOG_LEVEL "LOUD"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := Load(env(map[string]string{EnvTableName: "t", EnvSecretPrefix: "a/*"})); err == nil {
		t.Error("Load accepted a wildcard secret prefix")
	}
}
