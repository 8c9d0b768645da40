package awserr

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
		err       error
		transient bool
	}{
		{api("ThrottlingException"), true},
		{api("ProvisionedThroughputExceededException"), true},
		{api("InternalServiceError"), true},
		{fmt.Errorf("op: %w", context.DeadlineExceeded), true},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, true},
		{&retry.MaxAttemptsError{Attempt: 3, Err: api("Whatever")}, true},
		{api("ValidationException"), false},
		{api("AccessDeniedException"), false},
		{errors.New("plain"), false},
	}
	for _, c := range cases {
		got := Classify("svc Op", c.err)
		if errors.Is(got, apperr.ErrUnavailable) != c.transient || !errors.Is(got, c.err) || Transient(c.err) != c.transient {
			t.Errorf("Classify(%v) = %v; want unavailable %v, wrapping the cause", c.err, got, c.transient)
		}
		want := apperr.Internal
		if c.transient {
			want = apperr.Unavailable
		}
		if k := apperr.KindOf(got); k != want {
			t.Errorf("KindOf(Classify(%v)) = %s, want %s", c.err, k, want)
		}
	}
	for code, want := range map[string]bool{"ThrottlingException": true, "InternalFailure": true, "MalformedDetail": false, "": false} {
		if TransientCode(code) != want {
			t.Errorf("TransientCode(%q) = %v, want %v", code, !want, want)
		}
	}
	if Classify("op", nil) != nil {
		t.Error("Classify(nil) != nil")
	}
}
