package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"

	"github.com/docproc/webhooks/internal/api"
	"github.com/docproc/webhooks/internal/dev/testenv"
)

// contractServer is the server URL of api/openapi.yaml that requests are
// matched against (the one `make run` serves).
const contractServer = "http://127.0.0.1:3000"

var (
	contractOnce   sync.Once
	contractDoc    *openapi3.T
	contractRouter routers.Router
	contractErr    error
)

// loadContract reads and checks api/openapi.yaml once per test binary.
func loadContract() (*openapi3.T, routers.Router, error) {
	contractOnce.Do(func() {
		loader := openapi3.NewLoader()
		contractDoc, contractErr = loader.LoadFromFile(testenv.RepoFile("api/openapi.yaml"))
		if contractErr != nil {
			return
		}
		if contractErr = contractDoc.Validate(context.Background()); contractErr != nil {
			return
		}
		contractRouter, contractErr = legacyrouter.NewRouter(contractDoc)
	})
	return contractDoc, contractRouter, contractErr
}

// checkContract fails t if resp, the answer to req, is not what
// api/openapi.yaml documents: an undocumented status, header or body shape.
// Requests for a path or method the document does not have must get an
// error body of the documented Error shape.
func checkContract(t testing.TB, req events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse) {
	t.Helper()
	doc, router, err := loadContract()
	if err != nil {
		t.Fatalf("api/openapi.yaml: %v", err)
	}
	path := api.RequestPath(req) // as the API sees it: without a named stage
	u := contractServer + path
	if len(req.QueryStringParameters) > 0 {
		q := url.Values{}
		for k, v := range req.QueryStringParameters {
			q.Set(k, v)
		}
		u += "?" + q.Encode()
	}
	var route *routers.Route
	var params map[string]string
	var httpReq *http.Request
	_, err = url.Parse(u)
	if err == nil {
		httpReq = httptest.NewRequest(req.RequestContext.HTTP.Method, u, nil)
		for k, v := range req.Headers {
			httpReq.Header.Set(k, v)
		}
		route, params, err = router.FindRoute(httpReq)
	}
	if err == nil && (strings.Count(route.Path, "/") != strings.Count(path, "/") || strings.Contains(strings.ToLower(path), "%2f")) {
		err = errors.New("the router forgives a trailing slash and decodes an encoded slash; the API does neither")
	}
	if err != nil {
		var body any
		if jerr := json.Unmarshal([]byte(resp.Body), &body); jerr != nil {
			t.Errorf("contract: %s %s: body is not JSON: %s", req.RequestContext.HTTP.Method, req.RawPath, resp.Body)
			return
		}
		if verr := doc.Components.Schemas["Error"].Value.VisitJSON(body); verr != nil || resp.StatusCode < 400 {
			t.Errorf("contract: %s %s (no such operation) answered %d %s: %v", req.RequestContext.HTTP.Method, req.RawPath, resp.StatusCode, resp.Body, verr)
		}
		return
	}
	header := http.Header{}
	for k, v := range resp.Headers {
		header.Set(k, v)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: httpReq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  resp.StatusCode,
		Header:  header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes([]byte(resp.Body))
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("contract: %s %s answered %d, which api/openapi.yaml does not allow: %v\nbody: %s",
			req.RequestContext.HTTP.Method, req.RawPath, resp.StatusCode, err, resp.Body)
	}
}
