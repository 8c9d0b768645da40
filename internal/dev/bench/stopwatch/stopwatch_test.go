package stopwatch

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// call runs an AWS call named op through a stack holding the stopwatch's
// middleware; do stands for what the SDK does in it.
func call(t *testing.T, sw *Stopwatch, ctx context.Context, op string, do func(context.Context)) {
	t.Helper()
	stack := middleware.NewStack(op, func() any { return nil })
	if err := sw.Middleware(stack); err != nil {
		t.Fatal(err)
	}
	h := middleware.DecorateHandler(middleware.HandlerFunc(func(ctx context.Context, _ any) (any, middleware.Metadata, error) {
		do(ctx)
		return nil, middleware.Metadata{}, nil
	}), stack)
	if _, _, err := h.Handle(awsmiddleware.SetOperationName(ctx, op), nil); err != nil {
		t.Fatal(err)
	}
}

func TestPartsOfCallsAndPosts(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	post := func(t *testing.T, c *http.Client, ctx context.Context) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	newClient := func() *http.Client {
		tr := srv.Client().Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.RootCAs = roots
		return &http.Client{Transport: tr}
	}

	sw := New()
	ctx := sw.Trace(context.Background())
	sdk, endpoint := newClient(), newClient()
	call(t, sw, ctx, "BatchGetItem", func(ctx context.Context) {
		time.Sleep(time.Millisecond)
		post(t, sdk, ctx) // the SDK's own request, on the invocation's context
	})
	post(t, endpoint, ctx)
	rep := sw.Report(2*time.Millisecond, time.Second)

	if rep.Calls["BatchGetItem"] != 1 || len(rep.Calls) != 1 {
		t.Errorf("calls %v, want BatchGetItem once", rep.Calls)
	}
	if rep.Parts["BatchGetItem"] < time.Millisecond {
		t.Errorf("BatchGetItem took %v, want its sleep at least", rep.Parts["BatchGetItem"])
	}
	for _, p := range []string{PartConnect, PartTLS, PartRequest, AWSPrefix + PartConnect, AWSPrefix + PartTLS} {
		if rep.Parts[p] <= 0 {
			t.Errorf("part %q not timed: %v", p, rep.Parts)
		}
	}
	if _, ok := rep.Parts[AWSPrefix+PartRequest]; ok {
		t.Errorf("an AWS call's request was timed as a part: %v", rep.Parts)
	}
	if rep.Parts[AWSPrefix+PartTLS] > rep.Parts["BatchGetItem"] {
		t.Errorf("the AWS call's handshake (%v) is longer than the call (%v)", rep.Parts[AWSPrefix+PartTLS], rep.Parts["BatchGetItem"])
	}
}

func TestFindReadsWhatLineWrote(t *testing.T) {
	want := Report{Main: 3 * time.Millisecond, Handler: time.Second,
		Parts: map[string]time.Duration{"UpdateItem": 5, PartTLS: 7}, Calls: map[string]int{"UpdateItem": 1}}
	logs := "START RequestId: 1\n{\"level\":\"INFO\"}\n" + want.Line() + "END RequestId: 1\n"
	got, err := Find(logs)
	if err != nil {
		t.Fatal(err)
	}
	if got.Main != want.Main || got.Handler != want.Handler || got.Parts[PartTLS] != 7 || got.Parts["UpdateItem"] != 5 || got.Calls["UpdateItem"] != 1 {
		t.Errorf("Find = %+v, want %+v", got, want)
	}
	if _, err := Find(strings.ReplaceAll(logs, Prefix, "")); err == nil {
		t.Error("Find found a report in output without one")
	}
}
