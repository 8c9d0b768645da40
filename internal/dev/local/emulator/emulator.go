// Package emulator runs the kumo AWS emulator in this process behind a
// reverse proxy on a fixed address (one request at a time, each answer
// buffered whole, but SQS calls go straight through), and keeps kumo's
// data in a directory between runs. Prepare sets up, before kumo starts,
// that its EventBridge delivers to SQS targets on this emulator.
// `make run`, the tests and `make bench` use it.
package emulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/sivchari/kumo"
)

// Emulator is kumo running in this process behind a reverse proxy on a
// fixed address, so that the AWS CLI and `sam local invoke` reach it too.
type Emulator struct {
	// URL is the fixed address, for AWS_ENDPOINT_URL.
	URL string

	addr  *net.TCPAddr
	kumo  *kumo.Server
	proxy *http.Server
	done  chan error
}

// Start starts kumo and a reverse proxy to it on addr
// ("127.0.0.1:4566"; port 0 lets the kernel pick one). kumo picks its own
// random port; the proxy gives it the well-known one. After Prepare(addr,
// ...), Start takes the listener Prepare made, on the address kumo's
// EventBridge sends to.
func Start(addr string) (*Emulator, error) {
	ln, err := listen(addr)
	if err != nil {
		return nil, err
	}
	srv := kumo.NewServer()
	target, err := url.Parse(srv.URL)
	if err != nil {
		srv.Close()
		_ = ln.Close()
		return nil, fmt.Errorf("parse kumo url %q: %w", srv.URL, err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = http.DefaultTransport.(*http.Transport).Clone()
	proxy.ModifyResponse = buffer
	proxy.ErrorHandler = proxyError
	e := &Emulator{
		URL:  "http://" + ln.Addr().String(),
		addr: ln.Addr().(*net.TCPAddr),
		kumo: srv,
		proxy: &http.Server{
			Handler:           route(proxy),
			ReadHeaderTimeout: 10 * time.Second,
		},
		done: make(chan error, 1),
	}
	go func() { e.done <- e.proxy.Serve(ln) }()
	return e, nil
}

// proxyError answers 502 when kumo cannot be reached or its answer read,
// as httputil.ReverseProxy does, but says nothing when the client went
// away: a poller stopping ends its receive so.
func proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return
	}
	log.Printf("emulator proxy: %v", err)
	w.WriteHeader(http.StatusBadGateway)
}

// buffer reads kumo's whole answer before the proxy sends any of it. If
// reading it fails, the proxy answers 502, which the SDK retries, instead
// of a 200 with a cut-off body, which the SDK cannot decode (seen under
// load: "deserialization failed, unexpected EOF").
func buffer(resp *http.Response) error {
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return fmt.Errorf("read the emulator's answer: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Header.Del("Transfer-Encoding")
	return nil
}

// Close stops the proxy and the emulator. With a data directory, kumo
// writes its snapshot at most flushDelay after the last change, so Close
// waits that long first.
func (e *Emulator) Close(ctx context.Context) error {
	err := e.proxy.Shutdown(ctx)
	if serveErr := <-e.done; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	if os.Getenv(kumoDataDirEnv) != "" {
		select {
		case <-time.After(flushDelay):
		case <-ctx.Done():
		}
	}
	e.kumo.Close()
	return err
}

// flushDelay covers kumo's snapshot interval (one second) with a margin.
const flushDelay = 1500 * time.Millisecond
