// Package sender is the HTTP adapter of delivery.Sender: it POSTs one
// signed webhook to an endpoint and reports what came back.
//
// Every attempt is fenced in. Only https URLs are sent; the URL's host is
// checked against the egress rules before anything is dialled, and the
// address actually dialled is checked again when the connection is made
// (net.Dialer.Control), so DNS that points a registered name at an
// internal address is refused too. No proxy is used and redirects are never
// followed. The whole attempt (DNS, connect, TLS, request and response
// body) shares one timeout, and at most MaxResponseRead bytes of the
// response body are read. Connections are kept alive and reused between
// attempts.
package sender

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/egress"
)

var _ delivery.Sender = (*Client)(nil)

// UserAgent is the User-Agent of every delivery: the service and where a
// receiver can read about it.
const UserAgent = "docproc-webhooks/1.0 (+https://docs.docproc.example/webhooks)"

// DefaultTimeout bounds a whole attempt when Options.Timeout is 0: the
// default of DELIVERY_TIMEOUT.
const DefaultTimeout = 15 * time.Second

// MaxResponseRead is how much of a response body an attempt reads: the
// first delivery.MaxResponsePrefix bytes are kept, the rest up to this
// bound is discarded so that the connection can be reused. A longer body
// is not read further; its connection is closed instead.
const MaxResponseRead = 64 << 10

// The header names of a delivery (Standard Webhooks).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Options configure a Client. The zero value is a client with the default
// timeout, the system's root certificates, the system's resolver and the
// default egress rules (nothing private may be reached).
type Options struct {
	// Timeout bounds a whole attempt (DELIVERY_TIMEOUT); 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// CAFile names a PEM file of extra root certificates trusted for
	// deliveries (DELIVERY_CA_FILE), added to the system roots. Empty
	// trusts the system roots only.
	CAFile string
	// Resolver resolves endpoint names; nil uses net.DefaultResolver.
	// Tests point it at a DNS server of their own.
	Resolver *net.Resolver
	// Rules decide which hosts and addresses may be reached: the same
	// rules the API registers URLs under, including the deployment's
	// allowed private prefixes (ALLOWED_DESTINATION_CIDRS).
	Rules egress.Rules
	// MaxIdleConnsPerHost bounds the idle connections kept per endpoint
	// host; 0 means 64.
	MaxIdleConnsPerHost int
}

// Client sends deliveries. It is safe for concurrent use; build one per
// process and reuse it, so that connections are reused.
type Client struct {
	http    *http.Client
	rules   egress.Rules
	timeout time.Duration
}

// New returns a Client configured by o. It fails only when o.Timeout is
// negative, or when o.CAFile cannot be read or holds no certificate, or
// the system roots it adds to cannot be loaded.
func New(o Options) (*Client, error) {
	if o.Timeout < 0 {
		return nil, fmt.Errorf("sender: timeout %v is negative", o.Timeout)
	}
	roots, err := rootCAs(o.CAFile)
	if err != nil {
		return nil, err
	}
	idle := o.MaxIdleConnsPerHost
	if idle <= 0 {
		idle = 64
	}
	dialer := &net.Dialer{
		Resolver:  o.Resolver,
		Control:   o.Rules.Control, // checks every address dialled, after DNS
		KeepAlive: 30 * time.Second,
	}
	transport := &http.Transport{
		Proxy:                  nil, // never: a proxy would dial for us, past the address check
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           4 * idle,
		MaxIdleConnsPerHost:    idle,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		MaxResponseHeaderBytes: 128 << 10,
	}
	return &Client{
		http: &http.Client{
			Transport: transport,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse // a 3xx is the answer; its Location is never fetched
			},
		},
		rules:   o.Rules,
		timeout: cmpOr(o.Timeout, DefaultTimeout),
	}, nil
}

// cmpOr returns d, or def when d is 0.
func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// rootCAs returns the roots to trust: nil (the system roots) without a
// file, else the system roots plus the file's certificates.
func rootCAs(file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("sender: read the extra root certificates: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		return nil, fmt.Errorf("sender: load the system root certificates: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("sender: %s holds no PEM certificate", file)
	}
	return pool, nil
}

// Timeout is the bound of one attempt.
func (c *Client) Timeout() time.Duration { return c.timeout }

// CloseIdleConnections closes the connections kept for reuse.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// Send POSTs req.Body to req.URL with the webhook headers and reports what
// came back: a status, or, when none came, a Response with an ErrorClass
// and no status (a URL the rules refuse is ClassAddressRefused). A 3xx is
// reported with its status and delivery.ClassRedirect. Once a status has
// arrived the attempt has an answer: a body cut short (by the timeout or
// the endpoint) keeps the status and what was read of the body.
//
// Neither the signature nor the request body appear in anything Send
// returns.
func (c *Client) Send(ctx context.Context, req delivery.Request) delivery.Response {
	start := time.Now()
	resp := c.send(ctx, req)
	resp.Duration = time.Since(start)
	return resp
}

// send is Send without the clock.
func (c *Client) send(ctx context.Context, req delivery.Request) delivery.Response {
	if !c.allowedURL(req.URL) {
		return delivery.Response{Error: delivery.ClassAddressRefused}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return delivery.Response{Error: delivery.ClassAddressRefused}
	}
	h := hreq.Header
	h.Set(HeaderID, req.DeliveryID)
	h.Set(HeaderTimestamp, strconv.FormatInt(req.Timestamp.Unix(), 10))
	h.Set(HeaderSignature, req.Signature)
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", UserAgent)

	hresp, err := c.http.Do(hreq)
	if err != nil {
		return delivery.Response{Error: classify(ctx, err)}
	}
	defer hresp.Body.Close()
	out := delivery.Response{
		Status:     hresp.StatusCode,
		RetryAfter: parseRetryAfter(hresp.Header.Get("Retry-After"), time.Now()),
		Body:       readPrefix(hresp.Body),
	}
	if hresp.StatusCode >= 300 && hresp.StatusCode < 400 {
		out.Error = delivery.ClassRedirect
	}
	return out
}

// allowedURL reports whether raw is an https URL with a host the rules
// allow. Registration checked the same; the rules may have changed since.
func (c *Client) allowedURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Opaque != "" {
		return false
	}
	_, err = c.rules.Host(u.Hostname())
	return err == nil
}

// readPrefix reads up to MaxResponseRead bytes of body and returns the
// first delivery.MaxResponsePrefix of them. A body that ends within the
// bound leaves its connection reusable. A read error ends the read; what
// was read is kept.
func readPrefix(body io.Reader) []byte {
	buf := make([]byte, delivery.MaxResponsePrefix)
	n, err := io.ReadFull(body, buf)
	if err == nil {
		_, _ = io.CopyN(io.Discard, body, MaxResponseRead-delivery.MaxResponsePrefix)
	}
	if n == 0 {
		return nil
	}
	return buf[:n:n]
}

// parseRetryAfter reads a Retry-After value, delay-seconds or an HTTP
// date, as a delay from now. It is 0 when absent, invalid or in the past;
// a number of seconds too large for a time.Duration is the largest one.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if v[0] >= '0' && v[0] <= '9' {
		n, err := strconv.ParseUint(v, 10, 64)
		switch {
		case errors.Is(err, strconv.ErrRange) || (err == nil && n > math.MaxInt64/uint64(time.Second)):
			return math.MaxInt64
		case err != nil:
			return 0
		}
		return time.Duration(n) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil || !t.After(now) {
		return 0
	}
	return t.Sub(now)
}

// classify names why an attempt got no response. The order matters: an
// egress refusal is reported as such whatever wraps it, and an attempt
// whose time ran out is a timeout whichever step it was in.
func classify(ctx context.Context, err error) delivery.ErrorClass {
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.Is(err, egress.ErrForbidden):
		return delivery.ClassAddressRefused
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		return delivery.ClassTimeout
	case errors.As(err, &dnsErr):
		return delivery.ClassDNS
	case isTLS(err):
		return delivery.ClassTLS
	case errors.As(err, &netErr) && netErr.Timeout():
		return delivery.ClassTimeout
	default: // refused, reset, closed early (EOF) or otherwise cut
		return delivery.ClassConnection
	}
}

// isTLS reports whether err is a failed TLS handshake: a certificate the
// roots do not trust or that does not name the host, an alert from the
// endpoint, a non-TLS answer, or any other error of crypto/tls.
func isTLS(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		alert    tls.AlertError
		record   tls.RecordHeaderError
	)
	if errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &alert) || errors.As(err, &record) {
		return true
	}
	// crypto/tls reports the rest of its handshake failures as plain
	// errors whose text starts "tls: "; the client's own remote alerts as
	// a *net.OpError with Op "remote error".
	for e := err; e != nil; e = errors.Unwrap(e) {
		if op, ok := e.(*net.OpError); ok && op.Op == "remote error" {
			return true
		}
		if _, wraps := e.(interface{ Unwrap() error }); !wraps && strings.HasPrefix(e.Error(), "tls: ") {
			return true
		}
	}
	return false
}
