// Package chain loads the SDK configuration through the standard AWS
// configuration chain (environment, shared config and credentials files,
// SSO, the instance or container role), for command-line tools and the
// local server. Lambda functions use awsconf.FromEnv, which skips the chain.
package chain

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

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
