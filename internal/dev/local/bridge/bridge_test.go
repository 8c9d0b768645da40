package bridge_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/dev/local/bridge"
)

func TestToEvent(t *testing.T) {
	r := httptest.NewRequest("POST", "http://localhost:3000/v1/webhooks?a=1&a=2&b=x", nil)
	r.Header.Add("X-Multi", "one")
	r.Header.Add("X-Multi", "two")
	r.Header.Set("Cookie", "c1=v1; c2=v2")
	now := time.Unix(1795770557, 0)
	ev := bridge.ToEvent(r, []byte(`{"url":"https://e.com"}`), now)
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
	if bin := bridge.ToEvent(r, []byte{0xff, 0x00}, now); !bin.IsBase64Encoded || bin.Body != "/wA=" {
		t.Errorf("binary body = %q (base64 %v)", bin.Body, bin.IsBase64Encoded)
	}
	// The path goes to the handler as it was sent: an encoded slash stays encoded.
	enc := httptest.NewRequest("GET", "http://localhost:3000/v1/webhooks%2Fwh_1/%7Ex?q=%2F", nil)
	if ev := bridge.ToEvent(enc, nil, now); ev.RawPath != "/v1/webhooks%2Fwh_1/%7Ex" || ev.RawQueryString != "q=%2F" {
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
	srv := httptest.NewServer(bridge.New(h, time.Second))
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
