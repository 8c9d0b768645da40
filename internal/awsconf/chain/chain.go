// Package chain loads the SDK configuration through the standard AWS
// configuration chain (environment, shared config and credentials files,
// SSO, the instance or container role), for command-line tools and the
// local server, and for an explicit endpoint such as an emulator
// (ForEndpoint). Lambda functions use awsconf.FromEnv, which skips the
// chain.
package chain

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/docproc/webhooks/internal/awsconf"
)

// Load reads the chain with the service's retry policy. AWS_ENDPOINT_URL,
// when set, points every client at an emulator such as kumo or
// moto_server. extra options are applied last.
func Load(ctx context.Context, extra ...func(*config.LoadOptions) error) (aws.Config, error) {
	opts := append([]func(*config.LoadOptions) error{config.WithRetryer(awsconf.Retryer)}, extra...)
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("load aws config: no region; set AWS_REGION")
	}
	return cfg, nil
}

// EndpointAttemptTimeout bounds each AWS call's attempt against an explicit
// endpoint (ForEndpoint). It is longer than in Lambda
// (awsconf.AttemptTimeout): an emulator serves one request at a time, and
// under a concurrent test a request waits in its queue.
const EndpointAttemptTimeout = 15 * time.Second

// ForEndpoint returns SDK configuration for an explicit endpoint, such as
// an emulator (kumo or moto_server), in region. Emulators accept any
// credentials; dummy ones are used when AWS_ACCESS_KEY_ID is not set.
// extra options are applied last.
func ForEndpoint(ctx context.Context, endpoint, region string, extra ...func(*config.LoadOptions) error) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithBaseEndpoint(endpoint),
		config.WithRegion(region),
		config.WithHTTPClient(awsconf.HTTPClient(EndpointAttemptTimeout)),
	}
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	return Load(ctx, append(opts, extra...)...)
}
