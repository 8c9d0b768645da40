package awsconf

import (
	"context"
	"strings"
	"testing"
)

func TestFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	_, err := FromEnv(env(nil))
	if err == nil || !strings.Contains(err.Error(), "AWS_REGION") || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Fatalf("FromEnv with nothing set: %v; want both problems named", err)
	}
	cfg, err := FromEnv(env(map[string]string{"AWS_DEFAULT_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID",
		"AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token"}))
	if err != nil || cfg.Region != "eu-west-1" || cfg.Retryer().MaxAttempts() != MaxAttempts || CustomEndpoint(cfg) {
		t.Fatalf("FromEnv = region %q, max attempts %d, custom endpoint %v, err %v",
			cfg.Region, cfg.Retryer().MaxAttempts(), CustomEndpoint(cfg), err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKID" || creds.SessionToken != "token" {
		t.Errorf("credentials = %+v, %v", creds, err)
	}
	cfg, _ = FromEnv(env(map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "a",
		"AWS_SECRET_ACCESS_KEY": "b", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}))
	if !CustomEndpoint(cfg) || *cfg.BaseEndpoint != "http://127.0.0.1:4566" {
		t.Error("AWS_ENDPOINT_URL is not the base endpoint")
	}
}
