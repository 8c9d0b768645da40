package local_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/docproc/webhooks/internal/awsconf/chain"
	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/local"
	"github.com/docproc/webhooks/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestToEvent(t *testing.T) {
	r := httptest.NewRequest("POST", "http://localhost:3000/v1/webhooks?a=1&a=2&b=x", nil)
	r.Header.Add("X-Multi", "one")
	r.Header.Add("X-Multi", "two")
	r.Header.Set("Cookie", "c1=v1; c2=v2")
	now := time.Unix(1795770557, 0)
	ev := local.ToEvent(r, []byte(`{"url":"https://e.com"}`), now)
	if ev.Version != "2.0" || ev.RawPath != "/v1/webhooks" || ev.RawQueryString != "a=1&a=2&b=x" ||
		ev.RequestContext.HTTP.Method != "POST" || ev.RequestContext.TimeEpoch != now.UnixMilli() {
		t.Errorf("event = %+v", ev)
	}
	if ev.Headers["x-multi"] != "one,two" || ev.QueryStringParameters["a"] != "1,2" {
		t.Errorf("repeated values not joined: %v %v", ev.Headers, ev.QueryStringParameters)
	}
	if strings.Join(ev.Cookies, ";") != "c1=v1;c2=v2" || ev.Headers["cookie"] != "" {
		t.Errorf("cookies = %v, headers %v", ev.Cookies, ev.Headers)
	}
	if ev.IsBase64Encoded || ev.Body != `{"url":"https://e.com"}` {
		t.Errorf("text body = %q (base64 %v)", ev.Body, ev.IsBase64Encoded)
	}
	if bin := local.ToEvent(r, []byte{0xff, 0x00}, now); !bin.IsBase64Encoded || bin.Body != "/wA=" {
		t.Errorf("binary body = %q (base64 %v)", bin.Body, bin.IsBase64Encoded)
	}
	// The path goes to the handler as it was sent: an encoded slash stays encoded.
	enc := httptest.NewRequest("GET", "http://localhost:3000/v1/webhooks%2Fwh_1/%7Ex?q=%2F", nil)
	if ev := local.ToEvent(enc, nil, now); ev.RawPath != "/v1/webhooks%2Fwh_1/%7Ex" || ev.RawQueryString != "q=%2F" {
		t.Errorf("raw path = %q, query %q; want them as sent", ev.RawPath, ev.RawQueryString)
	}
}

func TestBridgeWritesTheHandlersResponse(t *testing.T) {
	h := func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("handler context has no deadline")
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: 418, Headers: map[string]string{"X-Path": ev.RawPath},
			Cookies: []string{"a=b"}, Body: "aGk=", IsBase64Encoded: true}, nil
	}
	srv := httptest.NewServer(local.Bridge(h, time.Second))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/x/y")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 418 || resp.Header.Get("X-Path") != "/x/y" || resp.Header.Get("Set-Cookie") != "a=b" || string(b) != "hi" {
		t.Errorf("got %d %v %q", resp.StatusCode, resp.Header, b)
	}
}

func TestEmulatorOnFixedAddress(t *testing.T) {
	emu, err := local.StartEmulator("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := chain.ForEndpoint(context.Background(), emu.URL, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dynamo.NewClient(cfg).ListTables(context.Background(), &dynamodb.ListTablesInput{}); err != nil {
		t.Errorf("DynamoDB through the proxy: %v", err)
	}
	if err := emu.Close(context.Background()); err != nil {
		t.Errorf("close: %v", err)
	}
	if _, err := http.Get(emu.URL); err == nil {
		t.Error("emulator still answers after Close")
	}
}

// lineWriter hands each write to a channel.
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) { w <- string(p); return len(p), nil }

// TestRunServesTheREADMEFlow runs what `make run` runs, against an
// existing emulator (as with AWS_ENDPOINT_URL), and replays the README's
// curl lines.
func TestRunServesTheREADMEFlow(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s, err := local.FromEnv(func(k string) string {
			return map[string]string{
				"PORT": "0", "AWS_ENDPOINT_URL": b.URL, "TEMPLATE": testenv.RepoFile("template.yaml"),
				"TABLE_NAME": testenv.Unique("devserver-"), "SECRET_PREFIX": testenv.Unique("webhooks/dev"),
			}[k]
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		out := make(lineWriter, 1)
		done := make(chan error, 1)
		go func() { done <- local.Run(ctx, s, out, slog.New(slog.DiscardHandler), io.Discard) }()
		var banner string
		select {
		case banner = <-out:
		case err := <-done:
			t.Fatalf("Run stopped early: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("Run printed nothing in 30s")
		}
		apiURL := regexp.MustCompile(`Local webhook API\s+(http://\S+)`).FindStringSubmatch(banner)
		if apiURL == nil || !strings.Contains(banner, local.DevAPIKey) || !strings.Contains(banner, "curl -sS -X POST") {
			t.Fatalf("banner lacks the URL, the dev key or the curl line:\n%s", banner)
		}
		post := func(key, body string) (int, map[string]any) {
			req, _ := http.NewRequest("POST", apiURL[1]+"/v1/webhooks", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if key != "" {
				req.Header.Set("Authorization", "Bearer "+key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var m map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
				t.Fatalf("response is not JSON: %v", err)
			}
			return resp.StatusCode, m
		}
		if code, m := post(local.DevAPIKey, `{"url":"https://example.com/hooks","events":["document.uploaded"]}`); code != 201 || m["signing_secret"] == nil {
			t.Errorf("README create: %d %v", code, m)
		}
		for _, c := range []struct {
			key, body string
			status    int
		}{
			{local.DevAPIKey, `{"url":"http://example.com/hooks"}`, 400},
			{"", `{"url":"https://example.com/hooks"}`, 401},
			{local.DevAPIKey, `{"url":"https://example.com/hooks","max_retries":11}`, 400},
		} {
			if code, m := post(c.key, c.body); code != c.status {
				t.Errorf("%s: %d %v, want %d", c.body, code, m, c.status)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	})
}
