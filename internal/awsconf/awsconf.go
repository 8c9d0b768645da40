// Package awsconf builds the AWS SDK configuration every adapter shares and
// sorts AWS errors into the service's error kinds.
package awsconf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"

	"github.com/docproc/webhooks/internal/apperr"
)

// MaxAttempts is how many times the SDK tries one call (the first try plus
// retries) under its standard retry mode, with jittered exponential backoff
// of at most MaxBackoff. Kept low: an API caller waits for the answer, and a
// throttled dependency is better reported as 503 with Retry-After than
// hidden in long retries. The standard mode also keeps a client-side retry
// quota, so a failing dependency is not hammered with retries.
const (
	MaxAttempts = 3
	MaxBackoff  = time.Second
)

// Load reads the standard AWS configuration chain (environment, shared
// files, the Lambda role) and fixes the retry policy. AWS_ENDPOINT_URL, when
// set, points every client at an emulator such as kumo or moto_server.
// extra options are applied last (tests add fault-injection middleware).
func Load(ctx context.Context, extra ...func(*config.LoadOptions) error) (aws.Config, error) {
	opts := append([]func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = MaxAttempts
				o.MaxBackoff = MaxBackoff
			})
		}),
	}, extra...)
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("load aws config: no region; set AWS_REGION")
	}
	return cfg, nil
}

// CustomEndpoint reports whether cfg points at an endpoint other than AWS
// (an emulator). Adapters relax checks only then.
func CustomEndpoint(cfg aws.Config) bool {
	return cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != ""
}

// throttleCodes are AWS error codes that mean "slow down" or "try again".
var throttleCodes = map[string]bool{
	"ThrottlingException":                    true,
	"Throttling":                             true,
	"TooManyRequestsException":               true,
	"RequestLimitExceeded":                   true,
	"ProvisionedThroughputExceededException": true,
	"RequestThrottled":                       true,
	"InternalServiceError":                   true,
	"InternalServerError":                    true,
	"InternalFailure":                        true,
	"ServiceUnavailable":                     true,
	"ServiceUnavailableException":            true,
}

// Classify wraps err from an AWS call made by op. Throttling, timeouts and
// connection failures become an apperr Unavailable error (503, Retry-After);
// anything else is returned wrapped, as an internal error.
func Classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var apiErr smithy.APIError
	var netErr net.Error
	var maxAttempts *retry.MaxAttemptsError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return apperr.Dependency(op, err)
	case errors.As(err, &apiErr) && throttleCodes[apiErr.ErrorCode()]:
		return apperr.Dependency(op, err)
	case errors.As(err, &netErr):
		return apperr.Dependency(op, err)
	case errors.As(err, &maxAttempts):
		return apperr.Dependency(op, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
