package chain

import (
	"context"
	"testing"

	"github.com/docproc/webhooks/internal/awsconf"
)

func TestLoadNeedsARegion(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	if _, err := Load(context.Background()); err == nil {
		t.Fatal("Load succeeded without a region")
	}
	t.Setenv("AWS_REGION", "eu-west-1")
	cfg, err := Load(context.Background())
	if err != nil || cfg.Region != "eu-west-1" || cfg.Retryer().MaxAttempts() != awsconf.MaxAttempts {
		t.Fatalf("Load = region %q, err %v", cfg.Region, err)
	}
}

func TestForEndpoint(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	cfg, err := ForEndpoint(context.Background(), "http://127.0.0.1:4566", "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BaseEndpoint == nil || *cfg.BaseEndpoint != "http://127.0.0.1:4566" || cfg.Region != "eu-west-1" {
		t.Errorf("endpoint %v, region %q", cfg.BaseEndpoint, cfg.Region)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "local" {
		t.Errorf("credentials without AWS_ACCESS_KEY_ID = %q, %v; want the dummy ones", creds.AccessKeyID, err)
	}
}
