package awsconf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/docproc/webhooks/internal/apperr"
)

func TestClassify(t *testing.T) {
	api := func(code string) error { return &smithy.GenericAPIError{Code: code} }
	cases := []struct {
		err  error
		kind apperr.Kind
	}{
		{api("ThrottlingException"), apperr.Unavailable},
		{api("ProvisionedThroughputExceededException"), apperr.Unavailable},
		{api("InternalServiceError"), apperr.Unavailable},
		{fmt.Errorf("op: %w", context.DeadlineExceeded), apperr.Unavailable},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, apperr.Unavailable},
		{&retry.MaxAttemptsError{Attempt: 3, Err: api("Whatever")}, apperr.Unavailable},
		{api("ValidationException"), apperr.Internal},
		{api("AccessDeniedException"), apperr.Internal},
		{errors.New("plain"), apperr.Internal},
	}
	for _, c := range cases {
		got := Classify("svc Op", c.err)
		if apperr.KindOf(got) != c.kind || !errors.Is(got, c.err) {
			t.Errorf("Classify(%v) = %v (kind %s), want kind %s wrapping the cause", c.err, got, apperr.KindOf(got), c.kind)
		}
	}
	if Classify("op", nil) != nil {
		t.Error("Classify(nil) != nil")
	}
}

func TestLoadNeedsARegion(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	if _, err := Load(context.Background()); err == nil {
		t.Fatal("Load succeeded without a region")
	}
	t.Setenv("AWS_REGION", "eu-west-1")
	cfg, err := Load(context.Background())
	if err != nil || cfg.Region != "eu-west-1" || cfg.Retryer().MaxAttempts() != MaxAttempts {
		t.Fatalf("Load = region %q, max attempts %d, err %v", cfg.Region, cfg.Retryer().MaxAttempts(), err)
	}
	if CustomEndpoint(cfg) {
		t.Error("CustomEndpoint true without AWS_ENDPOINT_URL")
	}
}
