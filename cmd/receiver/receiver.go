package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Defaults of the flags.
const (
	// DefaultAddr is where the receiver listens: loopback only.
	DefaultAddr = "127.0.0.1:9443"
	// DefaultCAFile is where it writes its CA certificate, under the
	// repository's git-ignored .local/.
	DefaultCAFile = ".local/receiver-ca.pem"
	// ReceiverVar is the shell variable the docs' examples hold the
	// receiver's URL in; it prints a line that exports it.
	ReceiverVar = "RECEIVER"
	// SecretEnv is the environment variable that holds the signing secret
	// when -secret is not given.
	SecretEnv = "WEBHOOK_SECRET"
)

// MaxBodyBytes is the largest request body read; a larger one is answered
// 413 without being verified.
const MaxBodyBytes = 1 << 20

// Config is what the command line asks for.
type Config struct {
	// Addr is the loopback host:port to listen on.
	Addr string
	// CAFile is where the CA certificate is written, in PEM.
	CAFile string
	// Verifier checks signatures with the webhook's signing secret; nil
	// when none was given yet (the receiver then answers 503, so the
	// service retries: start it first to write its CA file, create the
	// webhook, then restart it with the secret).
	Verifier *standardwebhooks.Webhook
	// Status, when not 0, is answered to every verified delivery instead
	// of 204, to watch the service retry.
	Status int
}

// ErrUsage is a command line that cannot run.
var ErrUsage = errors.New("usage")

// ParseConfig reads the flags in args; getenv is os.Getenv, for the secret
// when -secret is absent. Messages about a bad command line, and -h's
// usage, go to out. Its errors never contain the secret.
func ParseConfig(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	fs := flag.NewFlagSet("receiver", flag.ContinueOnError)
	fs.SetOutput(out)
	addr := fs.String("addr", DefaultAddr, "loopback `host:port` to serve HTTPS on (127.0.0.1, ::1 or localhost)")
	secret := fs.String("secret", "", "the webhook's signing secret, `whsec_...`, from the create (or rotate) response; default $"+SecretEnv)
	caFile := fs.String("ca-file", DefaultCAFile, "`path` to write the generated CA certificate to, in PEM, for DELIVERY_CA_FILE")
	status := fs.Int("status", 0, "answer this HTTP `status` to verified deliveries instead of 204, e.g. 500 to see retries")
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: receiver [flags]\n\nA sample webhook receiver: it verifies each delivery's Standard Webhooks\nsignature and prints the event. Flags:\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, err
		}
		return Config{}, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("%w: unexpected argument %q", ErrUsage, fs.Arg(0))
	}
	if *secret == "" {
		*secret = getenv(SecretEnv)
	}
	var verifier *standardwebhooks.Webhook
	if *secret != "" { // without one, it answers 503 until restarted with one
		v, err := NewVerifier(*secret)
		if err != nil {
			return Config{}, fmt.Errorf("%w: %v", ErrUsage, err)
		}
		verifier = v
	}
	if err := CheckLoopback(*addr); err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if *status != 0 && (*status < 200 || *status > 599) {
		return Config{}, fmt.Errorf("%w: -status %d is not between 200 and 599", ErrUsage, *status)
	}
	if *caFile == "" {
		return Config{}, fmt.Errorf("%w: -ca-file is empty", ErrUsage)
	}
	return Config{Addr: *addr, CAFile: *caFile, Verifier: verifier, Status: *status}, nil
}

// NewVerifier returns the official library's verifier for a signing
// secret: "whsec_" and standard base64, as the create response shows it.
// Its error never contains the secret.
func NewVerifier(secret string) (*standardwebhooks.Webhook, error) {
	if secret == "" {
		return nil, fmt.Errorf("no signing secret: pass -secret or set %s", SecretEnv)
	}
	key, ok := strings.CutPrefix(secret, "whsec_")
	if !ok || key == "" {
		return nil, errors.New(`the signing secret does not start with "whsec_"`)
	}
	// The library decodes it too; decoding here gives an error that
	// cannot quote the secret.
	if _, err := base64.StdEncoding.DecodeString(key); err != nil {
		return nil, errors.New(`the signing secret is not "whsec_" followed by base64`)
	}
	return standardwebhooks.NewWebhook(secret)
}

// CheckLoopback accepts a host:port whose host is a loopback address or
// "localhost". The receiver's certificate names only those, and a sample
// that prints payloads has no business listening on other interfaces.
func CheckLoopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %v", addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("-addr %q: bad port", addr)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-addr %q is not loopback: use 127.0.0.1, ::1 or localhost", addr)
}

// Handler verifies and prints deliveries.
type Handler struct {
	// Verifier checks signatures.
	Verifier *standardwebhooks.Webhook
	// Status, when not 0, is answered instead of 204 after a delivery
	// verifies.
	Status int
	// Out gets two lines per verified event; Err a line per rejected
	// request.
	Out, Err io.Writer

	mu sync.Mutex // serialises writes, so that lines do not interleave
}

// payloadHead is the part of a payload the summary line shows.
type payloadHead struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// ServeHTTP answers a POST whose body verifies against the
// webhook-id, webhook-timestamp and webhook-signature headers with 204 (or
// Status) and prints
//
//	verified <type> <event id> (webhook-id <msg id>, attempt at <RFC 3339 UTC>)
//	<payload as compact JSON>
//
// to Out. Anything else gets a 4xx with a short reason, also printed to
// Err.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reject(w, r, http.StatusMethodNotAllowed, "only POST is accepted")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		h.reject(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", MaxBodyBytes))
		return
	case err != nil:
		h.reject(w, r, http.StatusBadRequest, "cannot read the body")
		return
	}
	// Verify checks the signature and that webhook-timestamp is within 5
	// minutes of now, which stops a captured delivery being replayed
	// later. Verify the raw bytes: parse only after.
	if h.Verifier == nil {
		h.reject(w, r, http.StatusServiceUnavailable, "no signing secret yet: restart the receiver with "+SecretEnv+"=whsec_...")
		return
	}
	if err := h.Verifier.Verify(body, r.Header); err != nil {
		h.reject(w, r, http.StatusBadRequest, reason(err))
		return
	}
	var head payloadHead
	_ = json.Unmarshal(body, &head) // a signed body that is not the documented JSON still prints
	var compact bytes.Buffer
	if json.Compact(&compact, body) != nil {
		compact.Reset()
		compact.Write(body)
	}
	ts, _ := strconv.ParseInt(r.Header.Get(standardwebhooks.HeaderWebhookTimestamp), 10, 64) // Verify parsed it
	line := fmt.Sprintf("verified %s %s (webhook-id %s, attempt at %s)\n%s\n",
		orUnknown(head.Type), orUnknown(head.ID), r.Header.Get(standardwebhooks.HeaderWebhookID),
		time.Unix(ts, 0).UTC().Format(time.RFC3339), compact.Bytes())
	h.write(h.Out, line)
	if h.Status == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	// A body the delivery's attempt records keep (response_body).
	answer := fmt.Sprintf("answered %d to webhook-id %s, as -status asks\n", h.Status, r.Header.Get(standardwebhooks.HeaderWebhookID))
	h.write(h.Err, answer)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(h.Status)
	_, _ = io.WriteString(w, answer)
}

// reject answers status with reason and logs it to Err.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, status int, reason string) {
	id := r.Header.Get(standardwebhooks.HeaderWebhookID)
	h.write(h.Err, fmt.Sprintf("rejected %s %q (webhook-id %q): %d %s\n", r.Method, r.URL.Path, id, status, reason))
	http.Error(w, reason, status)
}

// write writes s to w in one call, one request at a time.
func (h *Handler) write(w io.Writer, s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, _ = io.WriteString(w, s)
}

// reason is a short, secret-free reason for a failed verification.
func reason(err error) string {
	switch {
	case errors.Is(err, standardwebhooks.ErrRequiredHeaders):
		return "missing webhook-id, webhook-timestamp or webhook-signature header"
	case errors.Is(err, standardwebhooks.ErrInvalidHeaders):
		return "webhook-timestamp is not a Unix time in seconds"
	case errors.Is(err, standardwebhooks.ErrMessageTooOld):
		return "webhook-timestamp is more than 5 minutes old"
	case errors.Is(err, standardwebhooks.ErrMessageTooNew):
		return "webhook-timestamp is more than 5 minutes in the future"
	case errors.Is(err, standardwebhooks.ErrNoMatchingSignature):
		return "no signature matches the secret"
	}
	return "signature verification failed"
}

// orUnknown is s, or "?" when empty.
func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

// Certs are the receiver's TLS certificates.
type Certs struct {
	// CAPEM is the CA certificate in PEM: what the delivery service trusts.
	CAPEM []byte
	// Server is the leaf certificate and key the receiver serves, for
	// 127.0.0.1, ::1 and localhost, signed by the CA.
	Server tls.Certificate
}

// Validity of the certificates: the leaf is made again at every start;
// the CA is kept (see LoadCerts) and made again when it nears its end.
const (
	certValidity = 7 * 24 * time.Hour
	caValidity   = 365 * 24 * time.Hour
)

// LoadCerts makes a leaf certificate for 127.0.0.1, ::1 and localhost,
// valid from a minute before now, signed by the CA kept in caPath (its
// certificate, PEM, 0644) and caPath+".key" (its ECDSA P-256 key, PEM,
// 0600). It reuses the CA of an earlier start when both files hold one
// valid for at least another week, and otherwise makes a new CA and writes
// both files. Keeping the CA lets the receiver restart, with another
// secret, while a running `make run` keeps trusting it.
func LoadCerts(caPath string, now time.Time) (Certs, error) {
	ca, caKey, caPEM, err := loadCA(caPath, now)
	if err != nil {
		if ca, caKey, caPEM, err = newCA(caPath, now); err != nil {
			return Certs{}, err
		}
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Certs{}, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		return Certs{}, fmt.Errorf("server certificate: %w", err)
	}
	return Certs{CAPEM: caPEM, Server: tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}}, nil
}

// loadCA reads the CA kept at caPath and caPath+".key"; it fails when
// either is missing or unreadable, or the CA ends within certValidity.
func loadCA(caPath string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, []byte, error) {
	caPEM, err := os.ReadFile(caPath)
	if err != nil {
		return nil, nil, nil, err
	}
	keyPEM, err := os.ReadFile(caPath + ".key")
	if err != nil {
		return nil, nil, nil, err
	}
	certBlock, _ := pem.Decode(caPEM)
	keyBlock, _ := pem.Decode(keyPEM)
	if certBlock == nil || keyBlock == nil {
		return nil, nil, nil, errors.New("not PEM")
	}
	ca, err := x509.ParseCertificate(certBlock.Bytes)
	if err != nil {
		return nil, nil, nil, err
	}
	key, err := x509.ParseECPrivateKey(keyBlock.Bytes)
	if err != nil {
		return nil, nil, nil, err
	}
	if !ca.IsCA || now.Add(certValidity).After(ca.NotAfter) || !key.PublicKey.Equal(ca.PublicKey) {
		return nil, nil, nil, errors.New("CA expiring or not matching its key")
	}
	return ca, key, caPEM, nil
}

// newCA makes an ECDSA P-256 CA and writes it to caPath and its key to
// caPath+".key".
func newCA(caPath string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "webhook sample receiver CA " + now.UTC().Format(time.RFC3339)},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writeFile(caPath+".key", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, nil, nil, fmt.Errorf("write the CA key: %w", err)
	}
	if err := writeFile(caPath, caPEM, 0o644); err != nil {
		return nil, nil, nil, fmt.Errorf("write the CA file: %w", err)
	}
	return ca, key, caPEM, nil
}

// serial is a random 128-bit certificate serial number.
func serial() *big.Int {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	b[0] &= 0x7f        // positive
	return new(big.Int).SetBytes(b)
}

// writeFile writes data to path with mode, creating its directory. It
// writes a temporary file and renames it, so that a reader never sees half
// a file.
func writeFile(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".receiver-ca-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	err = f.Chmod(mode)
	if err == nil {
		_, err = f.Write(data)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	return err
}

// Server is a running receiver.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	done chan error
}

// Start makes the certificates, writes the CA file, listens on cfg.Addr
// and serves HTTPS in the background. It prints to info where it listens,
// a line that exports its URL as RECEIVER, and how to point `make run` at
// it. Stop it with Shutdown.
func Start(cfg Config, out, errOut, info io.Writer) (*Server, error) {
	if err := CheckLoopback(cfg.Addr); err != nil {
		return nil, err
	}
	caPath, err := filepath.Abs(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	certs, err := LoadCerts(caPath, time.Now())
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	tcp, _ := ln.Addr().(*net.TCPAddr)
	if tcp == nil || !tcp.IP.IsLoopback() { // "localhost" resolved elsewhere
		ln.Close()
		return nil, fmt.Errorf("%s is not a loopback address", ln.Addr())
	}
	s := &Server{
		ln: ln,
		srv: &http.Server{
			Handler:           &Handler{Verifier: cfg.Verifier, Status: cfg.Status, Out: out, Err: errOut},
			TLSConfig:         &tls.Config{Certificates: []tls.Certificate{certs.Server}, MinVersion: tls.VersionTLS12},
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			IdleTimeout:       90 * time.Second,
			// TLS handshake errors ("unknown certificate authority") show
			// a sender that does not trust the CA file yet.
			ErrorLog: log.New(errOut, "receiver: ", 0),
		},
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.ServeTLS(ln, "", "") }()
	cidr := "127.0.0.1/32"
	if tcp.IP.To4() == nil {
		cidr = "::1/128"
	}
	fmt.Fprintf(info, "receiver: listening on https://%s/ (register this URL as the webhook's url)\n", ln.Addr())
	fmt.Fprintf(info, "export %s=https://%s/\n", ReceiverVar, ln.Addr())
	fmt.Fprintf(info, "receiver: CA certificate in %s (kept between starts)\n", caPath)
	fmt.Fprintf(info, "receiver: start make run with DELIVERY_CA_FILE=%s ALLOWED_DESTINATION_CIDRS=%s\n", caPath, cidr)
	if cfg.Verifier == nil {
		fmt.Fprintf(info, "receiver: no signing secret given: deliveries get 503 until you restart it with %s=whsec_... (the CA is kept)\n", SecretEnv)
	}
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Shutdown stops accepting connections and waits, until ctx ends, for the
// requests being served.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if serveErr := <-s.done; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	return err
}

// Run serves until ctx ends, then shuts down gracefully, giving requests
// in flight up to 10 seconds.
func Run(ctx context.Context, cfg Config, out, errOut io.Writer) error {
	s, err := Start(cfg, out, errOut, errOut)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case err := <-s.done: // the server stopped by itself
		s.done <- err
	}
	fmt.Fprintln(errOut, "receiver: shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Shutdown(shutdownCtx)
}
