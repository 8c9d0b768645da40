package config

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// apiEnv is the API function's required variables, with extra added or
// replacing them.
func apiEnv(extra map[string]string) func(string) string {
	m := map[string]string{EnvTableName: "t", EnvSecretPrefix: "p", EnvDeliveryQueueURL: "https://sqs/q/delivery"}
	maps.Copy(m, extra)
	return env(m)
}

func TestLoad(t *testing.T) {
	c, err := LoadAPIFunction(apiEnv(map[string]string{EnvSecretPrefix: "webhooks/stack/", EnvKMSKeyID: "arn:aws:kms:k", EnvLogLevel: "DEBUG"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.TableName != "t" || c.SecretNamePrefix != "webhooks/stack" || c.KMSKeyID != "arn:aws:kms:k" || c.LogLevel != slog.LevelDebug ||
		c.MaxWebhooks != 16 || c.KeyCacheTTL != 30*time.Second || c.DeliveryQueueURL != "https://sqs/q/delivery" || c.Retention != 30*day {
		t.Errorf("Load = %+v", c)
	}
	c, err = LoadAPIFunction(apiEnv(map[string]string{EnvLogLevel: "DEBUG", "AWS_LAMBDA_LOG_LEVEL": "WARN"}))
	if err != nil || c.LogLevel != slog.LevelWarn {
		t.Errorf("AWS_LAMBDA_LOG_LEVEL should win: %+v %v", c, err)
	}
}

func TestLoadFailsFastNamingEveryProblem(t *testing.T) {
	_, err := LoadAPIFunction(env(map[string]string{EnvSecretPrefix: " ", EnvLogLevel: "LOUD", EnvMaxWebhooks: "0"}))
	if err == nil {
		t.Fatal("Load accepted a config with no table")
	}
	for _, want := range []string{"TABLE_NAME is not set", "SECRET_PREFIX is not set", "DELIVERY_QUEUE_URL is not set",
		`LOG_LEVEL "LOUD"`, `MAX_WEBHOOKS_PER_ACCOUNT "0"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := LoadAPIFunction(apiEnv(map[string]string{EnvSecretPrefix: "a/*"})); err == nil {
		t.Error("Load accepted a wildcard secret prefix")
	}
}

func TestLoadMaxWebhooks(t *testing.T) {
	for v, want := range map[string]int{"1": 1, "16": 16, "10000": 10000, "10001": 0, "-1": 0, "x": 0, "2.5": 0} {
		c, err := LoadAPIFunction(apiEnv(map[string]string{EnvMaxWebhooks: v}))
		if want == 0 && err == nil {
			t.Errorf("%s=%q accepted", EnvMaxWebhooks, v)
		}
		if want != 0 && (err != nil || c.MaxWebhooks != want) {
			t.Errorf("%s=%q: %d, %v; want %d", EnvMaxWebhooks, v, c.MaxWebhooks, err, want)
		}
	}
}

func TestLoadJanitorFunction(t *testing.T) {
	c, err := LoadJanitorFunction(env(map[string]string{EnvTableName: "t", EnvSecretPrefix: "p/", EnvOrphanMinAge: "2h"}))
	if err != nil || c.TableName != "t" || c.SecretNamePrefix != "p" || c.MinAge != 2*time.Hour {
		t.Fatalf("LoadJanitorFunction = %+v, %v", c, err)
	}
	if c, err := LoadJanitorFunction(env(map[string]string{EnvTableName: "t", EnvSecretPrefix: "p"})); err != nil || c.MinAge != time.Hour {
		t.Errorf("default min age = %v, %v; want 1h", c.MinAge, err)
	}
	_, err = LoadJanitorFunction(env(map[string]string{EnvOrphanMinAge: "10s"}))
	for _, want := range []string{"TABLE_NAME is not set", "SECRET_PREFIX is not set", `ORPHAN_MIN_AGE "10s"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}

func TestLoadKeyCacheTTL(t *testing.T) {
	for v, ok := range map[string]bool{"0": true, "0s": true, "30s": true, "5m": true, "5m1s": false, "-1s": false, "30": false} {
		c, err := LoadAPIFunction(apiEnv(map[string]string{EnvKeyCacheTTL: v}))
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
		c, err := LoadAPIFunction(apiEnv(map[string]string{"AWS_LAMBDA_LOG_FORMAT": v}))
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

const day = 24 * time.Hour

func fanoutEnv(extra map[string]string) func(string) string {
	m := map[string]string{EnvTableName: "t", EnvDeliveryQueueURL: "https://sqs/q/delivery", EnvRejectedQueueURL: "https://sqs/q/rejected",
		EnvFanoutQueueURL: "https://sqs/q/fanout"}
	for k, v := range extra {
		m[k] = v
	}
	return env(m)
}

func deliveryEnv(extra map[string]string) func(string) string {
	m := map[string]string{EnvTableName: "t", EnvDeliveryQueueURL: "https://sqs/q/delivery", EnvEventBusName: "bus"}
	for k, v := range extra {
		m[k] = v
	}
	return env(m)
}

func TestLoadFanoutDefaults(t *testing.T) {
	c, err := LoadFanoutFunction(fanoutEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := FanoutFunction{TableName: "t", DeliveryQueueURL: "https://sqs/q/delivery", RejectedQueueURL: "https://sqs/q/rejected",
		QueueURL: "https://sqs/q/fanout", Retention: 30 * day, LogLevel: slog.LevelInfo, LogFormat: LogFormatJSON, MetricsNamespace: "Webhooks"}
	if c != want {
		t.Errorf("LoadFanoutFunction = %+v\nwant %+v", c, want)
	}
	c, err = LoadFanoutFunction(fanoutEnv(map[string]string{EnvRetentionDays: "365", EnvLogLevel: "DEBUG", EnvNamespace: "Webhooks/s"}))
	if err != nil || c.Retention != 365*day || c.LogLevel != slog.LevelDebug || c.MetricsNamespace != "Webhooks/s" {
		t.Errorf("LoadFanoutFunction = %+v, %v", c, err)
	}
}

func TestLoadFanoutFailsFastNamingEveryProblem(t *testing.T) {
	_, err := LoadFanoutFunction(env(map[string]string{EnvDeliveryQueueURL: " ", EnvRetentionDays: "0", EnvLogLevel: "LOUD"}))
	if err == nil {
		t.Fatal("LoadFanoutFunction accepted a config with no table")
	}
	for _, want := range []string{"TABLE_NAME is not set", "DELIVERY_QUEUE_URL is not set", "REJECTED_QUEUE_URL is not set",
		"FANOUT_QUEUE_URL is not set", `RECORD_RETENTION_DAYS "0"`, `LOG_LEVEL "LOUD"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestRetentionDays(t *testing.T) {
	for v, want := range map[string]time.Duration{"1": day, "30": 30 * day, "365": 365 * day,
		"0": 0, "366": 0, "-1": 0, "1.5": 0, "30d": 0, "x": 0} {
		f, ferr := LoadFanoutFunction(fanoutEnv(map[string]string{EnvRetentionDays: v}))
		d, derr := LoadDeliveryFunction(deliveryEnv(map[string]string{EnvRetentionDays: v}))
		a, aerr := LoadAPIFunction(apiEnv(map[string]string{EnvRetentionDays: v}))
		if want == 0 {
			for _, err := range []error{ferr, derr, aerr} {
				if err == nil || !strings.Contains(err.Error(), EnvRetentionDays) {
					t.Errorf("%s=%q: %v; want an error naming it", EnvRetentionDays, v, err)
				}
			}
			continue
		}
		if ferr != nil || derr != nil || aerr != nil || f.Retention != want || d.Retention != want || a.Retention != want {
			t.Errorf("%s=%q: %v, %v, %v (%v, %v, %v); want %v", EnvRetentionDays, v, f.Retention, d.Retention, a.Retention,
				ferr, derr, aerr, want)
		}
	}
}

func TestLoadDeliveryDefaults(t *testing.T) {
	c, err := LoadDeliveryFunction(deliveryEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.TableName != "t" || c.QueueURL != "https://sqs/q/delivery" || c.EventBusName != "bus" || !slices.Equal(c.Schedule, delivery.DefaultSchedule) ||
		c.Timeout != 15*time.Second || c.DisableAfter != 120*time.Hour || c.Retention != 30*day ||
		c.AllowedDestinations != nil || c.CAFile != "" || c.LogLevel != slog.LevelInfo || c.LogFormat != LogFormatJSON ||
		c.MetricsNamespace != "Webhooks" {
		t.Errorf("LoadDeliveryFunction = %+v", c)
	}
	// The default is a copy: changing it cannot change the package's.
	c.Schedule[0] = time.Hour
	if delivery.DefaultSchedule[0] == time.Hour {
		t.Error("LoadDeliveryFunction hands out delivery.DefaultSchedule itself")
	}
}

func TestLoadDeliveryFunction(t *testing.T) {
	c, err := LoadDeliveryFunction(deliveryEnv(map[string]string{
		EnvRetrySchedule: "1s, 2m,3h", EnvDeliveryTimeout: "50s", EnvDisableAfter: "1h", EnvRetentionDays: "7",
		EnvAllowedCIDRs: " 127.0.0.1/32,10.0.0.0/8 ", EnvCAFile: "/tmp/ca.pem", EnvLogLevel: "WARN", EnvNamespace: "Webhooks/s",
		"AWS_LAMBDA_LOG_FORMAT": "Text"}))
	if err != nil {
		t.Fatal(err)
	}
	want := delivery.Schedule{time.Second, 2 * time.Minute, 3 * time.Hour}
	if !slices.Equal(c.Schedule, want) || c.Timeout != 50*time.Second || c.DisableAfter != time.Hour || c.Retention != 7*day ||
		len(c.AllowedDestinations) != 2 || c.CAFile != "/tmp/ca.pem" || c.LogLevel != slog.LevelWarn ||
		c.LogFormat != LogFormatText || c.MetricsNamespace != "Webhooks/s" {
		t.Errorf("LoadDeliveryFunction = %+v", c)
	}
}

func TestLoadDeliveryFailsFastNamingEveryProblem(t *testing.T) {
	_, err := LoadDeliveryFunction(env(map[string]string{EnvRetrySchedule: "5s,25h", EnvDeliveryTimeout: "51s", EnvHorizon: "73h",
		EnvDisableAfter: "59m", EnvRetentionDays: "400", EnvLogLevel: "LOUD", "AWS_LAMBDA_LOG_FORMAT": "xml"}))
	if err == nil {
		t.Fatal("LoadDeliveryFunction accepted a config with no table")
	}
	for _, want := range []string{"TABLE_NAME is not set", "DELIVERY_QUEUE_URL is not set", "EVENT_BUS_NAME is not set", `DELIVERY_RETRY_SCHEDULE "5s,25h"`, `DELIVERY_HORIZON "73h"`,
		`DELIVERY_TIMEOUT "51s"`, `DISABLE_AFTER "59m"`, `RECORD_RETENTION_DAYS "400"`, `LOG_LEVEL "LOUD"`, `AWS_LAMBDA_LOG_FORMAT "xml"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestDeliveryTimeout(t *testing.T) {
	for v, ok := range map[string]bool{"1s": true, "15s": true, "1500ms": true, "50s": true,
		"999ms": false, "0s": false, "50.1s": false, "1m": false, "15": false, "-1s": false} {
		c, err := LoadDeliveryFunction(deliveryEnv(map[string]string{EnvDeliveryTimeout: v}))
		if (err == nil) != ok {
			t.Errorf("%s=%q: %v, want ok=%v", EnvDeliveryTimeout, v, err, ok)
		}
		if ok {
			if d, _ := time.ParseDuration(v); c.Timeout != d {
				t.Errorf("%s=%q: timeout %v", EnvDeliveryTimeout, v, c.Timeout)
			}
		}
	}
}

func TestRetrySchedule(t *testing.T) {
	for v, ok := range map[string]bool{"0s": true, "5s": true, "5s,5m,30m,2h,5h,10h": true, "24h": true, "1s,2s,20h": true, "1h30m,90s": true,
		"": true, "24h1s": false, "-5s": false, "5s,,5m": false, "5s,": false, "5": false, "soon": false} {
		_, err := LoadDeliveryFunction(deliveryEnv(map[string]string{EnvRetrySchedule: v}))
		if (err == nil) != ok {
			t.Errorf("%s=%q: %v, want ok=%v", EnvRetrySchedule, v, err, ok)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), EnvRetrySchedule)) {
			t.Errorf("%s=%q: error %v does not name the variable", EnvRetrySchedule, v, err)
		}
	}
}

func TestHorizon(t *testing.T) {
	for v, ok := range map[string]bool{"": true, "1h": true, "72h": true, "3h30m": true, "59m": false, "72h1s": false, "3d": false} {
		c, err := LoadDeliveryFunction(deliveryEnv(map[string]string{EnvHorizon: v}))
		if (err == nil) != ok {
			t.Errorf("%s=%q: %v, want ok=%v", EnvHorizon, v, err, ok)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), EnvHorizon)) {
			t.Errorf("%s=%q: error %v does not name the variable", EnvHorizon, v, err)
		}
		if v == "" && c.Horizon != 72*time.Hour {
			t.Errorf("default horizon %s, want 72h", c.Horizon)
		}
	}
}

func TestEndpointConcurrency(t *testing.T) {
	for v, ok := range map[string]bool{"": true, "1": true, "100": true, "0": false, "101": false, "ten": false, "2.5": false} {
		c, err := LoadDeliveryFunction(deliveryEnv(map[string]string{EnvEndpointConcurrency: v}))
		if (err == nil) != ok || (!ok && !strings.Contains(err.Error(), EnvEndpointConcurrency)) {
			t.Errorf("%s=%q: %v, want ok=%v and the variable named", EnvEndpointConcurrency, v, err, ok)
		}
		if v == "" && c.EndpointConcurrency != 10 {
			t.Errorf("default endpoint concurrency %d, want 10", c.EndpointConcurrency)
		}
	}
}

func TestLoadSweeper(t *testing.T) {
	if _, err := LoadSweeperFunction(env(map[string]string{})); err == nil || !strings.Contains(err.Error(), "TABLE_NAME is not set") ||
		!strings.Contains(err.Error(), "DELIVERY_QUEUE_URL is not set") {
		t.Fatalf("LoadSweeperFunction with nothing set: %v", err)
	}
	c, err := LoadSweeperFunction(env(map[string]string{EnvTableName: "t", EnvDeliveryQueueURL: "q"}))
	if err != nil || c.TableName != "t" || c.QueueURL != "q" {
		t.Fatalf("LoadSweeperFunction = %+v, %v", c, err)
	}
}

func TestDisableAfter(t *testing.T) {
	for v, ok := range map[string]bool{"1h": true, "120h": true, "60m": true, "10000h": true, "59m": false, "0": false, "5d": false} {
		if _, err := LoadDeliveryFunction(deliveryEnv(map[string]string{EnvDisableAfter: v})); (err == nil) != ok {
			t.Errorf("%s=%q: %v, want ok=%v", EnvDisableAfter, v, err, ok)
		}
	}
}

// TestVariableLists: each loader's lists name each variable once, the
// local-only ones are read by the delivery function alone, and every
// required variable is in fact required.
func TestVariableLists(t *testing.T) {
	for name, list := range map[string][]string{
		"API":      slices.Concat(APIRequired, APIOptional),
		"Fanout":   slices.Concat(FanoutRequired, FanoutOptional),
		"Delivery": slices.Concat(DeliveryRequired, DeliveryOptional),
	} {
		if len(slices.Compact(slices.Sorted(slices.Values(list)))) != len(list) {
			t.Errorf("%s lists a variable twice: %v", name, list)
		}
	}
	for _, v := range LocalOnly {
		if !slices.Contains(DeliveryOptional, v) || slices.Contains(FanoutOptional, v) || slices.Contains(APIOptional, v) {
			t.Errorf("%s: local-only variables are read by the delivery function only", v)
		}
	}
	for _, v := range FanoutRequired {
		m := map[string]string{EnvTableName: "t", EnvDeliveryQueueURL: "d", EnvRejectedQueueURL: "r", EnvFanoutQueueURL: "f"}
		delete(m, v)
		if _, err := LoadFanoutFunction(env(m)); err == nil || !strings.Contains(err.Error(), v+" is not set") {
			t.Errorf("LoadFanoutFunction without %s: %v", v, err)
		}
	}
	for _, v := range APIRequired {
		m := map[string]string{EnvTableName: "t", EnvSecretPrefix: "p", EnvDeliveryQueueURL: "d"}
		delete(m, v)
		if _, err := LoadAPIFunction(env(m)); err == nil || !strings.Contains(err.Error(), v+" is not set") {
			t.Errorf("Load without %s: %v", v, err)
		}
	}
	for _, v := range DeliveryRequired {
		m := map[string]string{EnvTableName: "t", EnvDeliveryQueueURL: "d", EnvEventBusName: "b"}
		delete(m, v)
		if _, err := LoadDeliveryFunction(env(m)); err == nil || !strings.Contains(err.Error(), v+" is not set") {
			t.Errorf("LoadDeliveryFunction without %s: %v", v, err)
		}
	}
}

func TestLoadAllowedDestinations(t *testing.T) {
	c, err := LoadAPIFunction(apiEnv(nil))
	if err != nil || len(c.AllowedDestinations) != 0 {
		t.Errorf("by default nothing private is allowed: %v, %v", c.AllowedDestinations, err)
	}
	c, err = LoadAPIFunction(apiEnv(map[string]string{EnvAllowedCIDRs: "127.0.0.1/32, 10.1.0.0/16"}))
	if err != nil || fmt.Sprint(c.AllowedDestinations) != "[127.0.0.1/32 10.1.0.0/16]" {
		t.Errorf("%s: %v, %v", EnvAllowedCIDRs, c.AllowedDestinations, err)
	}
	_, err = LoadAPIFunction(apiEnv(map[string]string{EnvAllowedCIDRs: "10.1.2.3/16,nope", EnvLogLevel: "LOUD"}))
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
		if slices.Contains(APIOptional, name) || slices.Contains(APIRequired, name) {
			t.Errorf("%s is both LocalOnly and in the template's lists", name)
		}
	}
}
