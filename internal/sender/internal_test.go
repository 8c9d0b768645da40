package sender

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/egress"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                               0,
		"0":                              0,
		"1":                              time.Second,
		" 120 ":                          2 * time.Minute,
		"86400":                          24 * time.Hour,
		"1.5":                            0,
		"-1":                             0,
		"soon":                           0,
		"99999999999999999999999":        math.MaxInt64,
		"Sun, 01 Mar 2026 12:05:00 GMT":  5 * time.Minute,
		"Sunday, 01-Mar-26 13:00:00 GMT": time.Hour,
		"Sun Mar  1 12:00:30 2026":       30 * time.Second,
		"Sun, 01 Mar 2026 11:00:00 GMT":  0, // in the past
		"Sun, 01 Mar 2026 12:00:00 GMT":  0,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

// TestClassify pins the class of errors that are hard to provoke from a
// real endpoint; the real ones are provoked in sender_test.go.
func TestClassify(t *testing.T) {
	live := context.Background()
	expired, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	post := func(err error) error { return &url.Error{Op: "Post", URL: "https://e.example.com/", Err: err} }
	dial := func(err error) error { return post(&net.OpError{Op: "dial", Net: "tcp", Err: err}) }
	for _, c := range []struct {
		ctx  context.Context
		err  error
		want delivery.ErrorClass
	}{
		{live, dial(egress.Rules{}.CheckAddr(netipLoopback())), delivery.ClassAddressRefused},
		{expired, dial(egress.Rules{}.CheckAddr(netipLoopback())), delivery.ClassAddressRefused},
		{expired, post(errors.New("anything")), delivery.ClassTimeout},
		{live, post(context.DeadlineExceeded), delivery.ClassTimeout},
		{live, dial(&net.DNSError{Err: "no such host", Name: "e.example.com", IsNotFound: true}), delivery.ClassDNS},
		{live, post(x509.UnknownAuthorityError{}), delivery.ClassTLS},
		{live, post(&net.OpError{Op: "remote error", Err: errors.New("tls: handshake failure")}), delivery.ClassTLS},
		{live, post(errors.New("tls: server selected unsupported protocol version 300")), delivery.ClassTLS},
		{live, post(&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ETIMEDOUT)}), delivery.ClassTimeout},
		{live, post(timeoutError{}), delivery.ClassTimeout},
		{live, dial(os.NewSyscallError("connect", syscall.ECONNREFUSED)), delivery.ClassConnection},
		{live, post(&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), delivery.ClassConnection},
		{live, post(io.EOF), delivery.ClassConnection},
		{live, post(io.ErrUnexpectedEOF), delivery.ClassConnection},
		{live, post(fmt.Errorf("net/http: HTTP/1.x transport connection broken: %w", errors.New("malformed HTTP response"))), delivery.ClassConnection},
	} {
		if got := classify(c.ctx, c.err); got != c.want {
			t.Errorf("classify(%v) = %s, want %s", c.err, got, c.want)
		}
	}
}

// TestRedirectPolicy checks the client's policy itself: it never follows.
func TestRedirectPolicy(t *testing.T) {
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.http.CheckRedirect(&http.Request{}, nil); !errors.Is(err, http.ErrUseLastResponse) {
		t.Errorf("CheckRedirect = %v", err)
	}
	if tr := c.http.Transport.(*http.Transport); tr.Proxy != nil || tr.MaxIdleConnsPerHost < 2 || tr.DisableKeepAlives {
		t.Errorf("transport: proxy set %v, %d idle per host, keep-alives off %v", tr.Proxy != nil, tr.MaxIdleConnsPerHost, tr.DisableKeepAlives)
	}
}

// netipLoopback is 127.0.0.1.
func netipLoopback() netip.Addr { return netip.MustParseAddr("127.0.0.1") }

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
