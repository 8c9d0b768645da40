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
