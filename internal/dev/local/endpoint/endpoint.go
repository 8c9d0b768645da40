// Package endpoint checks that an AWS endpoint URL, such as
// AWS_ENDPOINT_URL or the local emulator's address, is an AWS emulator
// that answers, and says what is wrong when it is not: nothing listens
// there, or something that is not an emulator (the API's own port, a web
// server) answers. `make run` checks AWS_ENDPOINT_URL so at start, and
// `go run ./cmd/publish` explains its failed calls so.
package endpoint

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go"
)

// Errors of Check and Classify.
var (
	// ErrUnreachable: no connection to the endpoint could be opened.
	ErrUnreachable = errors.New("cannot be reached")
	// ErrNotEmulator: something answers at the endpoint, but not as an
	// AWS service does (an HTTP status without an AWS error code).
	ErrNotEmulator = errors.New("answers, but not as an AWS emulator")
	// ErrNotURL: the endpoint is not an http or https URL with a host.
	ErrNotURL = errors.New("is not a URL such as http://127.0.0.1:4566")
)

// dialTimeout bounds Dial's connection attempt.
const dialTimeout = 3 * time.Second

// Dial checks that a TCP connection to endpoint can be opened. Its error
// wraps ErrNotURL or ErrUnreachable.
func Dial(ctx context.Context, endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return ErrNotURL
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443"}[u.Scheme]
		port = cmp.Or(port, "80")
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return fmt.Errorf("%w (%v)", ErrUnreachable, err)
	}
	return conn.Close()
}

// Classify returns err, the error of the AWS call op (such as "DynamoDB
// ListTables"), with op's name, wrapped around ErrUnreachable when no
// connection could be opened, or ErrNotEmulator when the answer was an
// HTTP status without an AWS error code.
func Classify(op string, err error) error {
	var (
		resp   *awshttp.ResponseError
		api    smithy.APIError
		opErr  *net.OpError
		dnsErr *net.DNSError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &opErr) && opErr.Op == "dial", errors.As(err, &dnsErr):
		return fmt.Errorf("%w (%s: %v)", ErrUnreachable, op, err)
	case errors.As(err, &resp) && resp.Response != nil && (!errors.As(err, &api) || api.ErrorCode() == "UnknownError"):
		return fmt.Errorf("%w (HTTP %d to %s, with no AWS error code)", ErrNotEmulator, resp.HTTPStatusCode(), op)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Check checks that endpoint, which cfg's clients use, is an AWS emulator
// that answers: that it can be reached, and that a DynamoDB ListTables
// gets an AWS answer. Its error wraps ErrNotURL, ErrUnreachable or
// ErrNotEmulator, or is the call's own.
func Check(ctx context.Context, cfg aws.Config, endpoint string) error {
	if err := Dial(ctx, endpoint); err != nil {
		return err
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.RetryMaxAttempts = 1 // a server that is not an emulator answers the same every time
	})
	_, err := client.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
	return Classify("DynamoDB ListTables", err)
}
