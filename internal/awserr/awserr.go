// Package awserr sorts the errors of AWS SDK calls for the adapters. A
// failure that a retry may cure (throttling, an internal error of AWS's,
// a timeout, a connection that could not be made or was cut) is wrapped
// around apperr.ErrUnavailable; anything else is only given the call's
// context.
package awserr

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/docproc/webhooks/internal/apperr"
)

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
	// A write met a transaction in progress on its item.
	"TransactionConflictException": true,
}

// Transient reports whether err, from an AWS call, may be cured by a
// retry: throttling, an AWS-side internal error, a timeout or
// cancellation, a network error, or the SDK giving up after its retries.
func Transient(err error) bool {
	var apiErr smithy.APIError
	var netErr net.Error
	var maxAttempts *retry.MaxAttemptsError
	switch {
	case err == nil:
		return false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return true
	case errors.As(err, &apiErr) && TransientCode(apiErr.ErrorCode()):
		return true
	}
	return errors.As(err, &netErr) || errors.As(err, &maxAttempts)
}

// TransientCode reports whether the AWS error code means "slow down" or
// "try again": throttling or an AWS-side internal failure. It sorts the
// codes batch calls give per entry (EventBridge's PutEvents, SQS's
// SendMessageBatch) besides the call's own error.
func TransientCode(code string) bool { return throttleCodes[code] }

// Classify wraps err from the AWS call op: around apperr.ErrUnavailable
// when it is Transient, else with op alone. It returns nil for nil.
func Classify(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case Transient(err):
		return Unavailable(op, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Unavailable wraps err from the AWS call op around apperr.ErrUnavailable,
// for a failure the adapter knows a retry may cure.
func Unavailable(op string, err error) error {
	return fmt.Errorf("%s: %w: %w", op, apperr.ErrUnavailable, err)
}
