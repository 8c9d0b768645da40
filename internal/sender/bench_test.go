package sender_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/docproc/webhooks/internal/sender"
)

// The two benchmarks POST the same body to the same endpoint: through the
// Client, and through a bare net/http loop. Their ratio is the adapter's
// overhead; compare them with
//
//	go test -run '^$' -bench 'Send|Bare' ./internal/sender
func BenchmarkSend(b *testing.B) {
	s := benchServer(b)
	c, err := sender.New(sender.Options{CAFile: caFile(b, s), Rules: loopback})
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseIdleConnections()
	req := request(s.URL)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if resp := c.Send(ctx, req); resp.Status != 204 {
			b.Fatalf("Send = %+v", resp)
		}
	}
}

func BenchmarkBareLoop(b *testing.B) {
	s := benchServer(b)
	roots := x509.NewCertPool()
	roots.AddCert(s.Certificate())
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer client.CloseIdleConnections()
	body := request(s.URL).Body
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := client.Post(s.URL, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// benchServer is an HTTPS endpoint that reads the body and answers 204.
func benchServer(b *testing.B) *server {
	s := &server{}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(s.Close)
	return s
}
