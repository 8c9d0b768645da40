package sender_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/delivery/deliverytest"
	"github.com/docproc/webhooks/internal/egress"
	"github.com/docproc/webhooks/internal/sender"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
	"github.com/docproc/webhooks/internal/webhook/webhooktest"
)

// loopback allows the test servers' addresses.
var loopback = egress.Rules{Allow: []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
}}

// server is an HTTPS test server that counts the requests it gets.
type server struct {
	*httptest.Server
	hits atomic.Int64
}

// newServer starts an HTTPS server (httptest's certificate, which names
// 127.0.0.1, ::1, example.com and *.example.com) that runs h.
func newServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// port is the server's port.
func (s *server) port() string {
	_, port, _ := net.SplitHostPort(s.Listener.Addr().String())
	return port
}

// caFile writes the test servers' certificate as a PEM file.
func caFile(t testing.TB, s *server) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "ca.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	if err := os.WriteFile(name, block, 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// newClient builds a client that trusts the test servers and may reach
// loopback, with o's other options.
func newClient(t *testing.T, s *server, o sender.Options) *sender.Client {
	t.Helper()
	if o.CAFile == "" {
		o.CAFile = caFile(t, s)
	}
	if o.Rules.Allow == nil {
		o.Rules = loopback
	}
	c, err := sender.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// request is a delivery to url.
func request(url string) delivery.Request {
	return delivery.Request{
		URL:        url,
		DeliveryID: "msg_2Yh8qL",
		Timestamp:  time.Unix(1_700_000_000, 0),
		Signature:  "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
		Body:       []byte(`{"type":"document.uploaded","data":{"id":"doc_1","name":"caf\u00e9 \"q\""}}` + "\n"),
	}
}

// send sends req with a test's deadline.
func send(t *testing.T, c *sender.Client, req delivery.Request) delivery.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return c.Send(ctx, req)
}

func TestSendDeliversWithTheWebhookHeaders(t *testing.T) {
	type got struct {
		method, path string
		header       http.Header
		body         []byte
		proto        string
	}
	seen := make(chan got, 1)
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen <- got{r.Method, r.URL.RequestURI(), r.Header.Clone(), b, r.Proto}
		w.WriteHeader(http.StatusNoContent)
	})
	c := newClient(t, s, sender.Options{})
	req := request(s.URL + "/hooks?tenant=42")
	resp := send(t, c, req)
	if resp.Status != 204 || resp.Error != "" || resp.Body != nil || resp.RetryAfter != 0 || resp.Duration <= 0 {
		t.Fatalf("Send = %+v, want 204 with no error", resp)
	}
	if delivery.Judge(resp) != delivery.VerdictDelivered {
		t.Errorf("Judge = %v, want Delivered", delivery.Judge(resp))
	}
	g := <-seen
	if g.method != "POST" || g.path != "/hooks?tenant=42" {
		t.Errorf("request = %s %s", g.method, g.path)
	}
	if !bytes.Equal(g.body, req.Body) {
		t.Errorf("body = %q, want %q", g.body, req.Body)
	}
	for name, want := range map[string]string{
		"webhook-id":        "msg_2Yh8qL",
		"webhook-timestamp": "1700000000",
		"webhook-signature": req.Signature,
		"content-type":      "application/json",
		"user-agent":        sender.UserAgent,
		"content-length":    strconv.Itoa(len(req.Body)),
	} {
		if v := g.header.Values(name); len(v) != 1 || v[0] != want {
			t.Errorf("%s = %q, want exactly %q", name, v, want)
		}
	}
}

func TestSendReportsStatuses(t *testing.T) {
	for status, verdict := range map[int]delivery.Verdict{
		200: delivery.VerdictDelivered, 201: delivery.VerdictDelivered, 400: delivery.VerdictFailed, 410: delivery.VerdictGone, 500: delivery.VerdictFailed, 503: delivery.VerdictFailed,
	} {
		s := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(status)
			_, _ = io.WriteString(w, "status "+strconv.Itoa(status))
		})
		resp := send(t, newClient(t, s, sender.Options{}), request(s.URL))
		if resp.Status != status || resp.Error != "" || string(resp.Body) != "status "+strconv.Itoa(status) {
			t.Errorf("%d: Send = %+v (body %q)", status, resp, resp.Body)
		}
		if delivery.Judge(resp) != verdict {
			t.Errorf("%d: Judge = %v, want %v", status, delivery.Judge(resp), verdict)
		}
	}
}

func TestSendDoesNotFollowRedirects(t *testing.T) {
	target := newServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })
	for _, status := range []int{301, 302, 303, 307, 308} {
		s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/elsewhere", status)
		})
		resp := send(t, newClient(t, s, sender.Options{}), request(s.URL))
		if resp.Status != status || resp.Error != delivery.ClassRedirect || delivery.Judge(resp) != delivery.VerdictFailed {
			t.Errorf("%d: Send = %+v, want the status and %s", status, resp, delivery.ClassRedirect)
		}
		if s.hits.Load() != 1 {
			t.Errorf("%d: the endpoint got %d requests, want 1", status, s.hits.Load())
		}
	}
	if n := target.hits.Load(); n != 0 {
		t.Errorf("the redirect target got %d requests, want 0", n)
	}
}

// TestRedirectIsAFailedAttempt delivers to an endpoint that answers each
// redirect status, through the Deliverer with this sender: the attempt is
// recorded with the 3xx and the redirect class, the redirect's target
// receives nothing, and the delivery fails (the status alone fails it,
// whatever the error class).
func TestRedirectIsAFailedAttempt(t *testing.T) {
	owner := tenant.Tenant{Account: "acct_1", Mode: tenant.Test}
	for _, status := range []int{301, 302, 303, 307, 308} {
		target := newServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })
		endpoint := newServer(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/elsewhere", status)
		})
		secrets := webhooktest.NewSecretStore(nil)
		secret, err := webhook.NewSigningSecret()
		if err != nil {
			t.Fatal(err)
		}
		ref, err := secrets.Create(context.Background(), webhook.NewSecret{Owner: owner, WebhookID: "wh_01", Value: secret, SHA256: secret.SHA256()})
		if err != nil {
			t.Fatal(err)
		}
		hook := webhook.Webhook{ID: "wh_01", Owner: owner, SecretRef: ref, Version: 1, Settings: webhook.Settings{URL: endpoint.URL + "/hook",
			Events: []webhook.EventType{webhook.DocumentUploaded}, IsActive: true}} // no retries: one attempt decides
		store := deliverytest.NewStore(hook)
		d := &delivery.Deliverer{Store: store, Gates: store, Parking: store, Secrets: secrets, Sender: newClient(t, endpoint, sender.Options{}),
			Schedule: delivery.Schedule{time.Minute}}
		at := time.Now().UTC()
		m := delivery.Message{DeliveryID: delivery.DeliveryID("evt_1", hook.ID, at), EventID: "evt_1", EventType: webhook.DocumentUploaded,
			EventTime: at, Account: owner.Account, Mode: owner.Mode, WebhookID: hook.ID, Payload: []byte(`{"id":"evt_1"}`)}

		step, err := d.Deliver(context.Background(), m, "sqs-1")
		if err != nil || step.Outcome != delivery.OutcomeFailed || step.Retry {
			t.Errorf("%d: step %+v, %v; want failed, no retry", status, step, err)
		}
		attempts, err := store.Attempts(context.Background(), hook.ID, m.DeliveryID)
		if err != nil || len(attempts) != 1 || attempts[0].Response.Status != status || attempts[0].Response.Error != delivery.ClassRedirect {
			t.Errorf("%d: attempts recorded %+v, %v; want one with the status and %s", status, attempts, err, delivery.ClassRedirect)
		}
		if st, err := store.Delivery(context.Background(), hook.ID, m.DeliveryID); err != nil || st.State != delivery.StateFailed {
			t.Errorf("%d: delivery %+v, %v; want it failed", status, st, err)
		}
		if endpoint.hits.Load() != 1 || target.hits.Load() != 0 {
			t.Errorf("%d: the endpoint got %d requests and the redirect's target %d; want 1 and 0", status, endpoint.hits.Load(), target.hits.Load())
		}
		if v := delivery.Judge(delivery.Response{Status: status}); v != delivery.VerdictFailed {
			t.Errorf("%d without an error class: verdict %v, want failed", status, v)
		}
	}
}

func TestSendTimesOut(t *testing.T) {
	release := make(chan struct{})
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select { // past the client's timeout: until it hangs up, or the test ends
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release) // runs before the server's Close, which waits for the handler
	const timeout = 300 * time.Millisecond
	c := newClient(t, s, sender.Options{Timeout: timeout})
	if c.Timeout() != timeout {
		t.Fatalf("Timeout() = %v", c.Timeout())
	}
	resp := send(t, c, request(s.URL))
	if resp.Error != delivery.ClassTimeout || resp.Status != 0 {
		t.Errorf("Send = %+v, want %s", resp, delivery.ClassTimeout)
	}
	if resp.Duration < timeout || resp.Duration > timeout+10*time.Second {
		t.Errorf("Duration = %v, want at least %v and not far more", resp.Duration, timeout)
	}
}

func TestSendDefaultTimeout(t *testing.T) {
	c, err := sender.New(sender.Options{})
	if err != nil || c.Timeout() != sender.DefaultTimeout || sender.DefaultTimeout != 15*time.Second {
		t.Errorf("default timeout = %v, %v; want 15s", c.Timeout(), err)
	}
	if _, err := sender.New(sender.Options{Timeout: -time.Second}); err == nil {
		t.Error("a negative timeout is accepted")
	}
}

// TestSendReadsOnlyThePrefixOfAHugeResponse: a 50 MiB answer is not read
// through; the attempt keeps MaxResponsePrefix bytes and hangs up.
func TestSendReadsOnlyThePrefixOfAHugeResponse(t *testing.T) {
	const huge = 50 << 20
	var written atomic.Int64
	done := make(chan struct{})
	s := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		defer close(done)
		w.Header().Set("Content-Type", "text/plain")
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		for written.Load() < huge {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	resp := send(t, newClient(t, s, sender.Options{}), request(s.URL))
	if resp.Status != 200 || resp.Error != "" || len(resp.Body) != delivery.MaxResponsePrefix ||
		!bytes.Equal(resp.Body, bytes.Repeat([]byte("x"), delivery.MaxResponsePrefix)) {
		t.Fatalf("Send = status %d, error %q, %d body bytes; want 200 and %d", resp.Status, resp.Error, len(resp.Body), delivery.MaxResponsePrefix)
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the server is still writing a minute after the attempt ended")
	}
	if n := written.Load(); n >= huge {
		t.Errorf("the server wrote all %d bytes; the client should have hung up", n)
	}
}

// TestSendReusesConnections: answers that end within MaxResponseRead leave
// their connection for the next attempt.
func TestSendReusesConnections(t *testing.T) {
	var conns atomic.Int64
	s := &server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(bytes.Repeat([]byte("y"), 10<<10)) // past the prefix, within the read bound
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	c := newClient(t, s, sender.Options{})
	const attempts = 20
	for range attempts {
		if resp := send(t, c, request(s.URL)); resp.Status != 200 || len(resp.Body) != delivery.MaxResponsePrefix {
			t.Fatalf("Send = %d %q, %d body bytes", resp.Status, resp.Error, len(resp.Body))
		}
	}
	if n := conns.Load(); n > attempts/4 {
		t.Errorf("%d attempts opened %d connections; they should be reused", attempts, n)
	}
}

func TestSendRetryAfter(t *testing.T) {
	var value atomic.Value
	s := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", value.Load().(string))
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	c := newClient(t, s, sender.Options{})
	for v, want := range map[string]time.Duration{"120": 2 * time.Minute, "0": 0, "soon": 0, "-5": 0} {
		value.Store(v)
		if resp := send(t, c, request(s.URL)); resp.Status != 503 || resp.RetryAfter != want {
			t.Errorf("Retry-After %q: %d, %v; want 503, %v", v, resp.Status, resp.RetryAfter, want)
		}
	}
	value.Store(time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
	resp := send(t, c, request(s.URL))
	if resp.RetryAfter < 58*time.Minute || resp.RetryAfter > time.Hour {
		t.Errorf("Retry-After in an hour: %v", resp.RetryAfter)
	}
}

func TestSendRefusesAnUntrustedCertificate(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })
	untrusted, err := sender.New(sender.Options{Rules: loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer untrusted.CloseIdleConnections()
	if resp := send(t, untrusted, request(s.URL)); resp.Error != delivery.ClassTLS || resp.Status != 0 {
		t.Errorf("without the CA file: %+v, want %s", resp, delivery.ClassTLS)
	}
	if n := s.hits.Load(); n != 0 {
		t.Errorf("the handler ran %d times over an untrusted connection", n)
	}
	// The CA file makes the same server trusted.
	if resp := send(t, newClient(t, s, sender.Options{CAFile: caFile(t, s)}), request(s.URL)); resp.Status != 200 || resp.Error != "" {
		t.Errorf("with the CA file: %+v, want 200", resp)
	}
	// A certificate that does not name the host is a TLS failure too.
	wrongName := newClient(t, s, sender.Options{Resolver: resolver(t, map[string]string{"hooks.docproc-test.net.": "127.0.0.1"})})
	if resp := send(t, wrongName, request("https://hooks.docproc-test.net:"+s.port()+"/")); resp.Error != delivery.ClassTLS {
		t.Errorf("a certificate for another name: %+v, want %s", resp, delivery.ClassTLS)
	}
}

func TestNewRejectsABadCAFile(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{empty, filepath.Join(dir, "missing.pem")} {
		if _, err := sender.New(sender.Options{CAFile: name}); err == nil || !strings.Contains(err.Error(), filepath.Base(name)) {
			t.Errorf("CAFile %s: %v, want an error naming it", name, err)
		}
	}
}

// TestSendChecksTheAddressDialled: a name that resolves to an address the
// rules refuse is refused when dialled, and the endpoint gets nothing;
// with the address allowed the same name is delivered to.
func TestSendChecksTheAddressDialled(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })
	res := resolver(t, map[string]string{"hooks.example.com.": "127.0.0.1"})
	url := "https://hooks.example.com:" + s.port() + "/hook"

	refused := newClient(t, s, sender.Options{Resolver: res, Rules: egress.Rules{Allow: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}}})
	if resp := send(t, refused, request(url)); resp.Error != delivery.ClassAddressRefused || resp.Status != 0 {
		t.Errorf("a name resolving to loopback: %+v, want %s", resp, delivery.ClassAddressRefused)
	}
	if n := s.hits.Load(); n != 0 {
		t.Errorf("the endpoint got %d requests, want 0", n)
	}
	allowed := newClient(t, s, sender.Options{Resolver: res})
	if resp := send(t, allowed, request(url)); resp.Status != 200 || resp.Error != "" {
		t.Errorf("the same name with loopback allowed: %+v, want 200", resp)
	}
}

func TestSendRefusesURLsTheRulesRefuse(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })
	var plainHits atomic.Int64
	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { plainHits.Add(1) }))
	defer plain.Close()

	strict, err := sender.New(sender.Options{CAFile: caFile(t, s)}) // default rules: loopback refused
	if err != nil {
		t.Fatal(err)
	}
	defer strict.CloseIdleConnections()
	open := newClient(t, s, sender.Options{})
	for _, c := range []struct {
		client *sender.Client
		url    string
	}{
		{strict, s.URL}, // loopback literal, not allowed
		{strict, "https://localhost:" + s.port() + "/"}, // a name that only resolves inside
		{open, "https://localhost:" + s.port() + "/"},   // names keep the name rules
		{open, plain.URL}, // http, even to an allowed address
		{open, strings.Replace(s.URL, "https", "HTTP", 1)},   // in any case
		{open, "https://user:pw@" + s.URL[len("https://"):]}, // user info
		{open, "https://127.1:" + s.port() + "/"},            // legacy notation
		{open, "ftp://127.0.0.1/"},
		{open, "not a url\x7f"},
		{open, ""},
	} {
		if resp := send(t, c.client, request(c.url)); resp.Error != delivery.ClassAddressRefused || resp.Status != 0 {
			t.Errorf("%q: %+v, want %s", c.url, resp, delivery.ClassAddressRefused)
		}
	}
	if s.hits.Load() != 0 || plainHits.Load() != 0 {
		t.Errorf("refused URLs reached the servers: %d, %d requests", s.hits.Load(), plainHits.Load())
	}
}

func TestSendConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	s := newServer(t, func(http.ResponseWriter, *http.Request) {})
	if resp := send(t, newClient(t, s, sender.Options{}), request("https://"+addr+"/")); resp.Error != delivery.ClassConnection || resp.Status != 0 {
		t.Errorf("a closed port: %+v, want %s", resp, delivery.ClassConnection)
	}
}

func TestSendConnectionClosed(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close() // hang up without an answer
		}
	})
	if resp := send(t, newClient(t, s, sender.Options{}), request(s.URL)); resp.Error != delivery.ClassConnection || resp.Status != 0 {
		t.Errorf("a connection closed before the answer: %+v, want %s", resp, delivery.ClassConnection)
	}
}

func TestSendDNSFailure(t *testing.T) {
	s := newServer(t, func(http.ResponseWriter, *http.Request) {})
	c := newClient(t, s, sender.Options{Resolver: resolver(t, nil)})
	if resp := send(t, c, request("https://nowhere.docproc-test.net/")); resp.Error != delivery.ClassDNS || resp.Status != 0 {
		t.Errorf("NXDOMAIN: %+v, want %s", resp, delivery.ClassDNS)
	}
}

// TestSendIsSafeForConcurrentUse runs attempts in parallel on one client.
func TestSendIsSafeForConcurrentUse(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(w, r.Body)
	})
	c := newClient(t, s, sender.Options{})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			req := request(s.URL)
			req.Body = []byte(strconv.Itoa(i))
			if resp := send(t, c, req); resp.Status != 200 || string(resp.Body) != strconv.Itoa(i) {
				t.Errorf("attempt %d: %d %q %q", i, resp.Status, resp.Error, resp.Body)
			}
		})
	}
	wg.Wait()
}

// resolver returns a resolver that asks a DNS server of the test's own:
// it answers A queries for the names in records (FQDN to IPv4 address),
// no AAAA records, and NXDOMAIN for every other name.
func resolver(t *testing.T, records map[string]string) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go serveDNS(pc, records)
	addr := pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

// serveDNS answers queries on pc until it is closed.
func serveDNS(pc net.PacketConn, records map[string]string) {
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if out, ok := answer(buf[:n], records); ok {
			_, _ = pc.WriteTo(out, from)
		}
	}
}

// answer builds the reply to one query.
func answer(query []byte, records map[string]string) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	addr, known := records[strings.ToLower(q.Name.String())]
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired,
		RecursionAvailable: true}
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if b.StartQuestions() != nil || b.Question(q) != nil || b.StartAnswers() != nil {
		return nil, false
	}
	if known && q.Type == dnsmessage.TypeA {
		a := netip.MustParseAddr(addr).As4()
		rr := dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 60}
		if b.AResource(rr, dnsmessage.AResource{A: a}) != nil {
			return nil, false
		}
	}
	out, err := b.Finish()
	return out, err == nil
}
