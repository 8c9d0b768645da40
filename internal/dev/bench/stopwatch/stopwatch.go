// Package stopwatch times the parts of a delivery from inside the
// delivery function's process, with the hooks the SDK and net/http
// already have: an SDK middleware times each AWS call by operation, and
// an httptrace.ClientTrace times the endpoint's DNS lookup, connection,
// TLS handshake and request. `make bench` builds it into a bench-only
// bootstrap (internal/dev/bench/firstdelivery), never into a function.
package stopwatch

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// The parts of an attempt's POST a Report names, besides the AWS
// operations. The DNS lookup, connection and TLS handshake of an AWS
// call are named the same after AWSPrefix.
const (
	// PartDNS is the endpoint's name lookup.
	PartDNS = "dns"
	// PartConnect is the TCP connection to the endpoint.
	PartConnect = "connect"
	// PartTLS is the TLS handshake, the verification of the endpoint's
	// chain included: the first one in a process also loads the system
	// root pool.
	PartTLS = "tls"
	// PartRequest is from the connection being ready to the answer's
	// first byte: writing the request and the endpoint's answer time.
	PartRequest = "request"
	// AWSPrefix starts the names of the parts of an AWS call's own
	// connection, which its operation's time includes.
	AWSPrefix = "aws "
)

// Report is what one invocation's stopwatch measured.
type Report struct {
	// Main is the time from main's start to the handler's being built
	// (configuration, AWS configuration, clients, sender).
	Main time.Duration `json:"main_ns"`
	// Handler is the invocation's time in the handler.
	Handler time.Duration `json:"handler_ns"`
	// Parts are the times of the AWS calls by operation (GetSecretValue,
	// BatchGetItem, ...), of the POST's parts (PartDNS, ...) and of the
	// AWS calls' connections (AWSPrefix+PartTLS, ...), each summed over
	// its occurrences.
	Parts map[string]time.Duration `json:"parts_ns"`
	// Calls counts the AWS calls by operation.
	Calls map[string]int `json:"calls"`
}

// Stopwatch collects one invocation's times. Its AWS calls and its
// endpoint requests must not overlap (one message at a time): the SDK's
// requests carry the invocation's context and so the trace, which tells
// them from the POSTs by whether an AWS call is in progress.
type Stopwatch struct {
	inCall atomic.Bool

	mu    sync.Mutex
	parts map[string]time.Duration
	calls map[string]int
	// started holds when each part of the POST in progress started.
	started map[string]time.Time
}

// New returns a Stopwatch with nothing measured.
func New() *Stopwatch {
	return &Stopwatch{parts: map[string]time.Duration{}, calls: map[string]int{}, started: map[string]time.Time{}}
}

// Middleware times each AWS call, retries included; add it to the
// aws.Config's APIOptions before the clients are built.
func (s *Stopwatch) Middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("stopwatch",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
			middleware.InitializeOutput, middleware.Metadata, error) {
			s.inCall.Store(true)
			defer s.inCall.Store(false)
			start := time.Now()
			out, md, err := next.HandleInitialize(ctx, in)
			op := awsmiddleware.GetOperationName(ctx)
			s.mu.Lock()
			s.parts[op] += time.Since(start)
			s.calls[op]++
			s.mu.Unlock()
			return out, md, err
		}), middleware.Before)
}

// Trace returns ctx with a trace that times the POSTs made with it.
func (s *Stopwatch) Trace(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		DNSStart:          func(httptrace.DNSStartInfo) { s.start(PartDNS) },
		DNSDone:           func(httptrace.DNSDoneInfo) { s.end(PartDNS) },
		ConnectStart:      func(string, string) { s.start(PartConnect) },
		ConnectDone:       func(string, string, error) { s.end(PartConnect) },
		TLSHandshakeStart: func() { s.start(PartTLS) },
		TLSHandshakeDone:  func(tls.ConnectionState, error) { s.end(PartTLS) },
		GotConn: func(httptrace.GotConnInfo) {
			if !s.inCall.Load() {
				s.start(PartRequest)
			}
		},
		GotFirstResponseByte: func() { s.end(PartRequest) },
	})
}

// name is part's name: after AWSPrefix while an AWS call is in progress.
func (s *Stopwatch) name(part string) string {
	if s.inCall.Load() {
		return AWSPrefix + part
	}
	return part
}

// start notes that part began.
func (s *Stopwatch) start(part string) {
	name := s.name(part)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started[name] = time.Now()
}

// end adds the time since part began, if it did.
func (s *Stopwatch) end(part string) {
	name := s.name(part)
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.started[name]; ok {
		s.parts[name] += time.Since(t)
		delete(s.started, name)
	}
}

// Report returns what was measured, with main and handler as given.
func (s *Stopwatch) Report(main, handler time.Duration) Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Report{Main: main, Handler: handler, Parts: maps.Clone(s.parts), Calls: maps.Clone(s.calls)}
}

// Prefix starts the line a report is written as.
const Prefix = "stopwatch: "

// Line is r as one line of output: Prefix and r in JSON.
func (r Report) Line() string {
	b, _ := json.Marshal(r) // durations, strings and ints: cannot fail
	return Prefix + string(b) + "\n"
}

// Find returns the first report written by Line in output.
func Find(output string) (Report, error) {
	for _, line := range strings.Split(output, "\n") {
		if rest, ok := strings.CutPrefix(line, Prefix); ok {
			var r Report
			if err := json.Unmarshal([]byte(rest), &r); err != nil {
				return r, fmt.Errorf("stopwatch: read %q: %w", line, err)
			}
			return r, nil
		}
	}
	return Report{}, errors.New("stopwatch: no report in the output")
}
