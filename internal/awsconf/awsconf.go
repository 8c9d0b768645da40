// Package awsconf builds the AWS SDK configuration every adapter shares:
// retries, per-attempt timeouts, credentials and the endpoint. Package
// awserr sorts the errors of the calls.
package awsconf

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
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

// Per-attempt limits of every AWS call. A request's own deadline bounds
// the call as a whole; these bound each try inside it, so that one stalled
// connection costs one try, not the whole budget, and the SDK retries on a
// fresh connection. DynamoDB and Secrets Manager answer in milliseconds to
// a few hundred; two seconds leaves a wide margin.
const (
	AttemptTimeout = 2 * time.Second
	DialTimeout    = time.Second
)

// HTTPClient returns the HTTP client of the SDK clients: each attempt may
// take at most attempt, its TCP connect at most DialTimeout.
func HTTPClient(attempt time.Duration) aws.HTTPClient {
	return awshttp.NewBuildableClient().WithTimeout(attempt).WithDialerOptions(func(d *net.Dialer) {
		d.Timeout = DialTimeout
	})
}

// Retryer returns the retry policy every client uses: the standard mode
// with MaxAttempts and MaxBackoff, which also retries a DynamoDB write
// that met a transaction in progress on its item
// (TransactionConflictException): the delivery function's record of an
// attempt may update a webhook's health while its owner PATCHes it, and
// the PATCH must not fail for that.
func Retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = MaxAttempts
		o.MaxBackoff = MaxBackoff
		o.Retryables = append(slices.Clone(o.Retryables), retry.RetryableErrorCode{Codes: map[string]struct{}{
			"TransactionConflictException": {},
		}})
	})
}

// FromEnv builds the SDK configuration of a Lambda function from the
// variables Lambda sets: AWS_REGION and the role's credentials
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), plus
// AWS_ENDPOINT_URL for an emulator. It is what the SDK's default chain
// would find there, without the chain: loading the chain reads shared
// config files and links credential providers (SSO, STS, process) that a
// function never uses, and it was measured at 7.7 ms of every cold start.
// Command-line tools use the full chain (package chain) instead.
func FromEnv(getenv func(string) string) (aws.Config, error) {
	var problems []string
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		problems = append(problems, "AWS_REGION is not set")
	}
	creds := aws.Credentials{
		AccessKeyID:     getenv("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken:    getenv("AWS_SESSION_TOKEN"),
		Source:          "EnvConfigCredentials",
	}
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		problems = append(problems, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them from the function's role)")
	}
	if len(problems) > 0 {
		return aws.Config{}, errors.New("aws configuration: " + strings.Join(problems, "; "))
	}
	cfg := aws.Config{
		Region: region,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return creds, nil
		}),
		Retryer:    Retryer,
		HTTPClient: HTTPClient(AttemptTimeout),
	}
	if ep := getenv("AWS_ENDPOINT_URL"); ep != "" {
		cfg.BaseEndpoint = aws.String(ep)
	}
	return cfg, nil
}

// CustomEndpoint reports whether cfg points at an endpoint other than AWS
// (an emulator). Adapters relax checks only then.
func CustomEndpoint(cfg aws.Config) bool {
	return cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != ""
}
