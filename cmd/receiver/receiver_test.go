package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/syncbuf"
	"github.com/docproc/webhooks/internal/webhook"
)

// sender signs deliveries as the service does: with internal/delivery's
// Keys of a new webhook's secret set.
type sender struct {
	secret webhook.SigningSecret
	keys   delivery.Keys
	event  delivery.Event
	msgID  string
}

func newSender(t *testing.T) sender {
	t.Helper()
	secret, err := webhook.NewSigningSecret()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := delivery.KeysOf(webhook.NewSecretSet(secret))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := delivery.ParseEventBridge([]byte(`{"id":"eb-1","source":"docproc.documents","detail-type":"document.uploaded",
		"time":"2026-12-01T10:00:00Z","detail":{"account":"acct_1","livemode":false,"id":"evt_test1","data":{"document_id":"doc_1","name":"a b.pdf"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	return sender{secret: secret, keys: keys, event: ev, msgID: delivery.DeliveryID(ev.ID, "wh_1", ev.Time)}
}

// request is a delivery of body signed at at, to url.
func (s sender) request(t *testing.T, url string, at time.Time, body []byte) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("webhook-id", s.msgID)
	r.Header.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	r.Header.Set("webhook-signature", s.keys.Sign(s.msgID, at, body))
	return r
}

// line is what the receiver prints for the sender's event sent at at.
func (s sender) line(at time.Time) string {
	return fmt.Sprintf("verified document.uploaded evt_test1 (webhook-id %s, attempt at %s)\n%s\n",
		s.msgID, at.UTC().Format(time.RFC3339), s.event.Payload)
}

func (s sender) handler(t *testing.T) (*Handler, *syncbuf.Buffer, *syncbuf.Buffer) {
	t.Helper()
	v, err := NewVerifier(s.secret.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut syncbuf.Buffer
	return &Handler{Verifier: v, Out: &out, Err: &errOut}, &out, &errOut
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestVerifiedDeliveryIs204AndPrinted(t *testing.T) {
	s := newSender(t)
	h, out, errOut := s.handler(t)
	at := time.Now()
	w := serve(h, s.request(t, "https://127.0.0.1/hooks", at, s.event.Payload))
	if w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Fatalf("status %d, body %q; want 204 and no body", w.Code, w.Body)
	}
	if got, want := out.String(), s.line(at); got != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", got, want)
	}
	if errOut.String() != "" {
		t.Errorf("stderr %q, want nothing", errOut)
	}
}

func TestPayloadIsPrintedCompact(t *testing.T) {
	s := newSender(t)
	h, out, _ := s.handler(t)
	at := time.Now()
	body := []byte("{\n  \"id\": \"evt_2\",\n  \"type\": \"document.processing.failed\"\n}")
	if w := serve(h, s.request(t, "https://127.0.0.1/", at, body)); w.Code != http.StatusNoContent {
		t.Fatalf("status %d, want 204", w.Code)
	}
	want := fmt.Sprintf("verified document.processing.failed evt_2 (webhook-id %s, attempt at %s)\n{\"id\":\"evt_2\",\"type\":\"document.processing.failed\"}\n", s.msgID, at.UTC().Format(time.RFC3339))
	if out.String() != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
}

func TestRejectedDeliveries(t *testing.T) {
	s := newSender(t)
	now := time.Now()
	other := newSender(t)
	cases := []struct {
		name   string
		req    func() *http.Request
		status int
		reason string
	}{
		{"tampered body", func() *http.Request {
			r := s.request(t, "https://127.0.0.1/", now, s.event.Payload)
			r.Body = io.NopCloser(strings.NewReader(strings.Replace(string(s.event.Payload), "doc_1", "doc_2", 1)))
			return r
		}, 400, "no signature matches the secret"},
		{"stale timestamp", func() *http.Request {
			return s.request(t, "https://127.0.0.1/", now.Add(-6*time.Minute), s.event.Payload)
		}, 400, "more than 5 minutes old"},
		{"future timestamp", func() *http.Request {
			return s.request(t, "https://127.0.0.1/", now.Add(6*time.Minute), s.event.Payload)
		}, 400, "more than 5 minutes in the future"},
		{"other secret", func() *http.Request {
			return other.request(t, "https://127.0.0.1/", now, s.event.Payload)
		}, 400, "no signature matches the secret"},
		{"partial signature", func() *http.Request {
			r := s.request(t, "https://127.0.0.1/", now, s.event.Payload)
			r.Header.Set("webhook-signature", "v1,")
			return r
		}, 400, "no signature matches the secret"},
		{"timestamp not a number", func() *http.Request {
			r := s.request(t, "https://127.0.0.1/", now, s.event.Payload)
			r.Header.Set("webhook-timestamp", "2026-12-01T10:00:00Z")
			return r
		}, 400, "not a Unix time"},
		{"no signature", func() *http.Request {
			r := s.request(t, "https://127.0.0.1/", now, s.event.Payload)
			r.Header.Del("webhook-signature")
			return r
		}, 400, "missing webhook-id, webhook-timestamp or webhook-signature"},
		{"GET", func() *http.Request {
			r := s.request(t, "https://127.0.0.1/", now, nil)
			r.Method = http.MethodGet
			return r
		}, 405, "only POST"},
		{"body over 1 MiB", func() *http.Request {
			return s.request(t, "https://127.0.0.1/", now, bytes.Repeat([]byte{' '}, MaxBodyBytes+1))
		}, 413, "body over"},
	}
	for _, c := range cases {
		h, out, errOut := s.handler(t)
		w := serve(h, c.req())
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.reason) {
			t.Errorf("%s: %d %q, want %d and %q", c.name, w.Code, w.Body, c.status, c.reason)
		}
		secret := s.secret.Reveal()
		for _, text := range []string{w.Body.String(), errOut.String()} {
			if strings.Contains(text, secret) || strings.Contains(text, secret[len("whsec_"):]) {
				t.Errorf("%s: %q shows the secret", c.name, text)
			}
		}
		if out.String() != "" {
			t.Errorf("%s: stdout %q, want nothing", c.name, out)
		}
		if !strings.HasPrefix(errOut.String(), "rejected ") || !strings.Contains(errOut.String(), c.reason) || strings.Count(errOut.String(), "\n") != 1 {
			t.Errorf("%s: stderr %q, want one rejected line with the reason", c.name, errOut)
		}
	}
}

func TestStatusAnswersVerifiedDeliveries(t *testing.T) {
	s := newSender(t)
	h, out, errOut := s.handler(t)
	h.Status = http.StatusInternalServerError
	at := time.Now()
	if w := serve(h, s.request(t, "https://127.0.0.1/", at, s.event.Payload)); w.Code != 500 || !strings.HasPrefix(w.Body.String(), "answered 500 to webhook-id ") {
		t.Fatalf("status %d, body %q; want 500 and a body that says why", w.Code, w.Body)
	}
	if out.String() != s.line(at) || !strings.Contains(errOut.String(), "answered 500") {
		t.Errorf("stdout %q, stderr %q; want the event and a note of the 500", out, errOut)
	}
}

func TestParseConfig(t *testing.T) {
	secret, _ := webhook.NewSigningSecret()
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == SecretEnv {
				return v
			}
			return ""
		}
	}
	cfg, err := ParseConfig(nil, env(secret.Reveal()), io.Discard)
	if err != nil || cfg.Addr != DefaultAddr || cfg.CAFile != DefaultCAFile || cfg.Verifier == nil || cfg.Status != 0 {
		t.Fatalf("defaults: %+v, %v", cfg, err)
	}
	// -secret wins over the environment.
	cfg, err = ParseConfig([]string{"-secret", secret.Reveal(), "-addr", "[::1]:0", "-ca-file", "x.pem", "-status", "503"}, env("whsec_bad!"), io.Discard)
	if err != nil || cfg.Addr != "[::1]:0" || cfg.CAFile != "x.pem" || cfg.Status != 503 {
		t.Fatalf("flags: %+v, %v", cfg, err)
	}
	for _, addr := range []string{"127.0.0.1:9443", "127.0.0.2:1", "[::1]:9443", "localhost:0"} {
		if _, err := ParseConfig([]string{"-addr", addr}, env(secret.Reveal()), io.Discard); err != nil {
			t.Errorf("-addr %s: %v", addr, err)
		}
	}
	for _, args := range [][]string{
		{"-addr", "0.0.0.0:9443"}, {"-addr", ":9443"}, {"-addr", "[::]:9443"}, {"-addr", "192.168.1.2:9443"},
		{"-addr", "example.com:443"}, {"-addr", "127.0.0.1"}, {"-addr", "127.0.0.1:99999"},
		{"-status", "99"}, {"-status", "600"}, {"-ca-file", ""}, {"extra"}, {"-nope"},
	} {
		if _, err := ParseConfig(args, env(secret.Reveal()), io.Discard); !errors.Is(err, ErrUsage) {
			t.Errorf("%q: err %v, want ErrUsage", args, err)
		}
	}
	for _, bad := range []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_MfKQ9r8GKYqr!wjUPD8ILPZIo2LaLaSw"} {
		_, err := ParseConfig(nil, env(bad), io.Discard)
		if !errors.Is(err, ErrUsage) || len(bad) >= 10 && strings.Contains(err.Error(), bad[len(bad)-10:]) {
			t.Errorf("secret %q: err %v, want ErrUsage without the secret", bad, err)
		}
	}
	var help bytes.Buffer
	if _, err := ParseConfig([]string{"-h"}, env(""), &help); !errors.Is(err, flag.ErrHelp) || !strings.Contains(help.String(), "-ca-file") {
		t.Errorf("-h: %v, %q", err, help.String())
	}
}

// start runs a receiver on a free loopback port for the test, returning
// it, its CA file and its outputs.
func start(t *testing.T, s sender) (srv *Server, caFile string, out, errOut, info *syncbuf.Buffer) {
	t.Helper()
	v, err := NewVerifier(s.secret.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "new", "dir", "ca.pem")
	out, errOut, info = &syncbuf.Buffer{}, &syncbuf.Buffer{}, &syncbuf.Buffer{}
	srv, err = Start(Config{Addr: "127.0.0.1:0", CAFile: caFile, Verifier: v}, out, errOut, info)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return srv, caFile, out, errOut, info
}

// poolOf reads a CA file into a certificate pool.
func poolOf(t *testing.T, path string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("%s holds no PEM certificate", path)
	}
	return pool
}

func TestServesVerifiedDeliveriesOverTLS(t *testing.T) {
	s := newSender(t)
	srv, caFile, out, _, info := start(t, s)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: poolOf(t, caFile)}}}
	defer client.CloseIdleConnections()
	at := time.Now()
	resp, err := client.Do(s.request(t, "https://"+srv.Addr().String()+"/hooks", at, s.event.Payload))
	if err != nil {
		t.Fatalf("POST with the CA file: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d, want 204", resp.StatusCode)
	}
	if out.String() != s.line(at) {
		t.Errorf("stdout %q, want %q", out, s.line(at))
	}
	abs, _ := filepath.Abs(caFile)
	for _, want := range []string{
		"listening on https://" + srv.Addr().String() + "/",
		"\nexport RECEIVER=https://" + srv.Addr().String() + "/\n",
		"CA certificate in " + abs,
		"start make run with DELIVERY_CA_FILE=" + abs + " ALLOWED_DESTINATION_CIDRS=127.0.0.1/32\n",
	} {
		if !strings.Contains(info.String(), want) {
			t.Errorf("start-up output %q lacks %q", info, want)
		}
	}
}

func TestCAFileVerifiesTheServedCertificate(t *testing.T) {
	s := newSender(t)
	srv, caFile, _, errOut, _ := start(t, s)
	st, err := os.Stat(caFile)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("CA file: %v, mode %v; want 0644", err, st.Mode())
	}
	raw, _ := os.ReadFile(caFile)
	block, rest := pem.Decode(raw)
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("CA file is not one PEM certificate: %q", raw)
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !ca.IsCA {
		t.Fatalf("CA certificate: %v, IsCA %v", err, ca != nil && ca.IsCA)
	}
	if ca.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("CA key is %v, want ECDSA", ca.PublicKeyAlgorithm)
	}
	addr := srv.Addr().String()
	dial := func(cfg *tls.Config) error {
		d := &net.Dialer{Timeout: 30 * time.Second}
		conn, err := tls.DialWithDialer(d, "tcp", addr, cfg)
		if err == nil {
			conn.Close()
		}
		return err
	}
	// 127.0.0.1 (the address dialled) and localhost both verify.
	pool := poolOf(t, caFile)
	if err := dial(&tls.Config{RootCAs: pool}); err != nil {
		t.Errorf("dial %s trusting the CA file: %v", addr, err)
	}
	if err := dial(&tls.Config{RootCAs: pool, ServerName: "localhost"}); err != nil {
		t.Errorf("dial as localhost trusting the CA file: %v", err)
	}
	// Without the CA file, or for another name, verification fails.
	var unknown x509.UnknownAuthorityError
	if err := dial(&tls.Config{RootCAs: x509.NewCertPool()}); !errors.As(err, &unknown) {
		t.Errorf("dial without the CA: %v, want x509.UnknownAuthorityError", err)
	}
	if err := dial(&tls.Config{}); err == nil {
		t.Error("dial trusting the system roots succeeded, want a verification error")
	}
	var hostname x509.HostnameError
	if err := dial(&tls.Config{RootCAs: pool, ServerName: "example.com"}); !errors.As(err, &hostname) {
		t.Errorf("dial as example.com: %v, want x509.HostnameError", err)
	}
	// A second receiver's CA does not verify the first: each start makes
	// its own.
	_, otherCA, _, _, _ := start(t, s)
	if err := dial(&tls.Config{RootCAs: poolOf(t, otherCA)}); !errors.As(err, &unknown) {
		t.Errorf("dial trusting another start's CA: %v, want x509.UnknownAuthorityError", err)
	}
	_ = errOut // the refused handshakes are logged there
}

func TestServesIPv6Loopback(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	ln.Close()
	s := newSender(t)
	v, _ := NewVerifier(s.secret.Reveal())
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	var info syncbuf.Buffer
	srv, err := Start(Config{Addr: "[::1]:0", CAFile: caFile, Verifier: v}, io.Discard, io.Discard, &info)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	conn, err := tls.Dial("tcp", srv.Addr().String(), &tls.Config{RootCAs: poolOf(t, caFile)})
	if err != nil {
		t.Fatalf("dial %s: %v", srv.Addr(), err)
	}
	conn.Close()
	if !strings.Contains(info.String(), "ALLOWED_DESTINATION_CIDRS=::1/128") {
		t.Errorf("start-up output %q, want the ::1/128 hint", info.String())
	}
}

func TestLoadCerts(t *testing.T) {
	now := time.Now()
	caPath := filepath.Join(t.TempDir(), "ca.pem")
	c, err := LoadCerts(caPath, now)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(caPath + ".key"); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("CA key file: %v, %v; want mode 0600", st, err)
	}
	// A restart keeps the CA (make run trusts it) and makes a new leaf.
	again, err := LoadCerts(caPath, now.Add(time.Hour))
	if err != nil || string(again.CAPEM) != string(c.CAPEM) || string(again.Server.Certificate[0]) == string(c.Server.Certificate[0]) {
		t.Fatalf("restart: same CA %v, new leaf %v (%v)", string(again.CAPEM) == string(c.CAPEM),
			string(again.Server.Certificate[0]) != string(c.Server.Certificate[0]), err)
	}
	// A CA near its end is replaced.
	renewed, err := LoadCerts(caPath, now.Add(caValidity-time.Hour))
	if err != nil || string(renewed.CAPEM) == string(c.CAPEM) {
		t.Fatalf("a CA within a week of its end was kept (%v)", err)
	}
	block, _ := pem.Decode(c.CAPEM)
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c.Server.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	for _, name := range []string{"127.0.0.1", "::1", "localhost"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool, CurrentTime: now}); err != nil {
			t.Errorf("leaf for %s: %v", name, err)
		}
	}
	if leaf.PublicKeyAlgorithm != x509.ECDSA || ca.PublicKeyAlgorithm != x509.ECDSA || leaf.IsCA || !ca.IsCA {
		t.Errorf("leaf %v IsCA %v, CA %v IsCA %v; want ECDSA, a CA and a leaf", leaf.PublicKeyAlgorithm, leaf.IsCA, ca.PublicKeyAlgorithm, ca.IsCA)
	}
}

func TestWriteFileReplacesAndKeepsMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "ca.pem")
	for _, content := range []string{"first", "second"} {
		if err := writeFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		st, _ := os.Stat(path)
		if err != nil || string(got) != content || st.Mode().Perm() != 0o644 {
			t.Fatalf("%s: %q, %v, mode %v; want %q, 0644", path, got, err, st.Mode(), content)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("%d files in the directory, want the CA file alone", len(entries))
	}
}

// runMainEnv, when set, makes the test binary run main with the arguments
// after "--".
const runMainEnv = "RECEIVER_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) != "" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"receiver"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestMainStopsOnSIGTERM runs the command, waits for it to listen, and
// stops it with SIGTERM: it exits 0 after shutting down.
func TestMainStopsOnSIGTERM(t *testing.T) {
	secret, _ := webhook.NewSigningSecret()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	cmd := exec.Command(os.Args[0], "-test.run=^$", "--", "-addr", "127.0.0.1:0", "-ca-file", caFile)
	cmd.Env = append(os.Environ(), runMainEnv+"=1", SecretEnv+"="+secret.Reveal())
	var stdout, stderr syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(stderr.String(), "start make run with") {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("no start-up hint within a minute; stderr %q", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v; stderr %q", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "shutting down") || strings.Contains(stderr.String(), secret.Reveal()) {
		t.Errorf("stderr %q, want a shutdown message and no secret", stderr.String())
	}
}

func TestMainUsageErrorExits2(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$", "--", "-addr", "0.0.0.0:9443")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", SecretEnv+"=")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "loopback") {
		t.Errorf("exit %v, output %q; want exit 2 and the address named", err, out)
	}
}

func TestWithoutASecretItAnswers503(t *testing.T) {
	cfg, err := ParseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil || cfg.Verifier != nil {
		t.Fatalf("no secret: %+v, %v; want a config without a verifier", cfg, err)
	}
	var errOut bytes.Buffer
	h := &Handler{Out: io.Discard, Err: &errOut}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "https://127.0.0.1/", strings.NewReader("{}")))
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(errOut.String(), SecretEnv) {
		t.Fatalf("status %d, stderr %q; want 503 naming %s", w.Code, errOut.String(), SecretEnv)
	}
}

// TestLinksOnlyTheLibrary: customers copy this command, so it must build
// with the standard library and the official Standard Webhooks library
// alone; only its tests use this module's packages.
func TestLinksOnlyTheLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		first, _, _ := strings.Cut(dep, "/")
		if strings.Contains(first, ".") && dep != "github.com/standard-webhooks/standard-webhooks/libraries/go" && dep != "github.com/docproc/webhooks/cmd/receiver" {
			t.Errorf("cmd/receiver depends on %s", dep)
		}
	}
}
