// Package emulator runs the kumo AWS emulator in this process behind a
// reverse proxy on a fixed address (one request at a time, each answer
// buffered whole), and keeps kumo's data in a directory between runs.
// `make run`, the tests and `make bench` use it.
package emulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/sivchari/kumo"
)

// Emulator is kumo running in this process behind a reverse proxy on a
// fixed address, so that the AWS CLI and `sam local invoke` reach it too.
type Emulator struct {
	// URL is the fixed address, for AWS_ENDPOINT_URL.
	URL string

	kumo  *kumo.Server
	proxy *http.Server
	done  chan error
}

// Start starts kumo and a reverse proxy to it on addr
// ("127.0.0.1:4566"; port 0 lets the kernel pick one). kumo picks its own random port; the proxy gives it
// the well-known one.
func Start(addr string) (*Emulator, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for the emulator on %s: %w", addr, err)
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
	e := &Emulator{
		URL:  "http://" + ln.Addr().String(),
		kumo: srv,
		proxy: &http.Server{
			Handler:           serialized(proxy),
			ReadHeaderTimeout: 10 * time.Second,
		},
		done: make(chan error, 1),
	}
	go func() { e.done <- e.proxy.Serve(ln) }()
	return e, nil
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

// serialized passes one request at a time to h. kumo's storage is not
// safe for every concurrent use (a concurrent GetSecretValue of one secret
// races on its last-accessed date), and DynamoDB's writes are isolated, so
// the emulator takes requests one by one, as moto does in the tests.
func serialized(h http.Handler) http.Handler {
	var mu sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		h.ServeHTTP(w, r)
	})
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

// kumoDataDirEnv is read by kumo's services when the process starts.
const kumoDataDirEnv = "KUMO_DATA_DIR"

// flushDelay covers kumo's snapshot interval (one second) with a margin.
const flushDelay = 1500 * time.Millisecond

// PersistTo makes kumo keep its data under dir. kumo reads KUMO_DATA_DIR
// in package init, before main runs, so when it is not already set to dir
// this sets it and re-executes the program; on success it does not return.
func PersistTo(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("data dir %s: %w", dir, err)
	}
	if os.Getenv(kumoDataDirEnv) == abs {
		return nil
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	if err := os.Setenv(kumoDataDirEnv, abs); err != nil {
		return fmt.Errorf("set %s: %w", kumoDataDirEnv, err)
	}
	if err := syscall.Exec(exe, os.Args, os.Environ()); err != nil {
		return fmt.Errorf("re-exec with %s set: %w", kumoDataDirEnv, err)
	}
	return nil
}
