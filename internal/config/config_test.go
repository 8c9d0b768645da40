package config

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	c, err := Load(env(map[string]string{
		EnvTableName: "t", EnvSecretPrefix: "webhooks/stack/", EnvKMSKeyID: "arn:aws:kms:k", EnvLogLevel: "DEBUG"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.TableName != "t" || c.SecretNamePrefix != "webhooks/stack" || c.KMSKeyID != "arn:aws:kms:k" || c.LogLevel != slog.LevelDebug ||
		c.MaxWebhooks != 16 || c.KeyCacheTTL != 30*time.Second {
		t.Errorf("Load = %+v", c)
	}
	c, err = Load(env(map[string]string{EnvTableName: "t", EnvSecretPrefix: "p", EnvLogLevel: "DEBUG", "AWS_LAMBDA_LOG_LEVEL": "WARN"}))
	if err != nil || c.LogLevel != slog.LevelWarn {
		t.Errorf("AWS_LAMBDA_LOG_LEVEL should win: %+v %v", c, err)
	}
}

func TestLoadFailsFastNamingEveryProblem(t *testing.T) {
	_, err := Load(env(map[string]string{EnvSecretPrefix: " ", EnvLogLevel: "LOUD", EnvMaxWebhooks: "0"}))
	if err == nil {
		t.Fatal("Load accepted a config with no table")
	}
	for _, want := range []string{"TABLE_NAME is not set", "SECRET_PREFIX is not set", `LOG_LEVEL "LOUD"`, `MAX_WEBHOOKS_PER_ACCOUNT "0"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := Load(env(map[string]string{EnvTableName: "t", EnvSecretPrefix: "a/*"})); err == nil {
		t.Error("Load accepted a wildcard secret prefix")
	}
}

func TestLoadMaxWebhooks(t *testing.T) {
	for v, want := range map[string]int{"1": 1, "16": 16, "10000": 10000, "10001": 0, "-1": 0, "x": 0, "2.5": 0} {
		c, err := Load(env(map[string]string{EnvTableName: "t", EnvSecretPrefix: "p", EnvMaxWebhooks: v}))
		if want == 0 && err == nil {
			t.Errorf("%s=%q accepted", EnvMaxWebhooks, v)
		}
		if want != 0 && (err != nil || c.MaxWebhooks != want) {
			t.Errorf("%s=%q: %d, %v; want %d", EnvMaxWebhooks, v, c.MaxWebhooks, err, want)
		}
	}
}

func TestLoadJanitor(t *testing.T) {
	c, err := LoadJanitor(env(map[string]string{EnvTableName: "t", EnvSecretPrefix: "p/", EnvOrphanMinAge: "2h"}))
	if err != nil || c.TableName != "t" || c.SecretNamePrefix != "p" || c.MinAge != 2*time.Hour {
		t.Fatalf("LoadJanitor = %+v, %v", c, err)
	}
	if c, err := LoadJanitor(env(map[string]string{EnvTableName: "t", EnvSecretPrefix: "p"})); err != nil || c.MinAge != time.Hour {
		t.Errorf("default min age = %v, %v; want 1h", c.MinAge, err)
	}
	_, err = LoadJanitor(env(map[string]string{EnvOrphanMinAge: "10s"}))
	for _, want := range []string{"TABLE_NAME is not set", "SECRET_PREFIX is not set", `ORPHAN_MIN_AGE "10s"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}

func TestLoadKeyCacheTTL(t *testing.T) {
	for v, ok := range map[string]bool{"0": true, "0s": true, "30s": true, "5m": true, "5m1s": false, "-1s": false, "30": false} {
		c, err := Load(env(map[string]string{EnvTableName: "t", EnvSecretPrefix: "p", EnvKeyCacheTTL: v}))
		if (err == nil) != ok {
			t.Errorf("%s=%q: %v, want ok=%v", EnvKeyCacheTTL, v, err, ok)
		}
		if ok && v == "0" && c.KeyCacheTTL != 0 {
			t.Errorf("0 must turn the cache off, got %v", c.KeyCacheTTL)
		}
	}
}

func TestLogFormat(t *testing.T) {
	for v, want := range map[string]string{"": LogFormatJSON, "JSON": LogFormatJSON, "Text": LogFormatText, "text": LogFormatText, "xml": ""} {
		c, err := Load(env(map[string]string{EnvTableName: "t", EnvSecretPrefix: "p", "AWS_LAMBDA_LOG_FORMAT": v}))
		if want == "" {
			if err == nil {
				t.Errorf("AWS_LAMBDA_LOG_FORMAT=%q accepted", v)
			}
			continue
		}
		if err != nil || c.LogFormat != want {
			t.Errorf("AWS_LAMBDA_LOG_FORMAT=%q: %q, %v; want %q", v, c.LogFormat, err, want)
		}
	}
}

func TestLoadAllowedDestinations(t *testing.T) {
	c, err := Load(env(map[string]string{EnvTableName: "t", EnvSecretPrefix: "p"}))
	if err != nil || len(c.AllowedDestinations) != 0 {
		t.Errorf("by default nothing private is allowed: %v, %v", c.AllowedDestinations, err)
	}
	c, err = Load(env(map[string]string{EnvTableName: "t", EnvSecretPrefix: "p", EnvAllowedCIDRs: "127.0.0.1/32, 10.1.0.0/16"}))
	if err != nil || fmt.Sprint(c.AllowedDestinations) != "[127.0.0.1/32 10.1.0.0/16]" {
		t.Errorf("%s: %v, %v", EnvAllowedCIDRs, c.AllowedDestinations, err)
	}
	_, err = Load(env(map[string]string{EnvTableName: "t", EnvSecretPrefix: "p", EnvAllowedCIDRs: "10.1.2.3/16,nope", EnvLogLevel: "LOUD"}))
	for _, want := range []string{EnvAllowedCIDRs, "did you mean 10.1.0.0/16", `"nope"`, `LOG_LEVEL "LOUD"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}

// TestLocalOnlyIsNotOptional keeps the lists apart: the template test
// requires every Optional variable in template.yaml, and a LocalOnly one
// must not be there.
func TestLocalOnlyIsNotOptional(t *testing.T) {
	for _, name := range LocalOnly {
		if slices.Contains(Optional, name) || slices.Contains(Required, name) {
			t.Errorf("%s is both LocalOnly and in the template's lists", name)
		}
	}
}
