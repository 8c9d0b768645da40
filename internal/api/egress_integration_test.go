package api_test

import (
	"testing"

	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/egress"
)

// withAllowed returns a stack over s's table, secrets and account whose
// handler is built with ALLOWED_DESTINATION_CIDRS set to cidrs.
func (s *stack) withAllowed(cidrs string) *stack {
	s.t.Helper()
	allow, err := egress.ParseCIDRs(cidrs)
	if err != nil {
		s.t.Fatal(err)
	}
	c := *s
	c.cfg.AllowedDestinations = allow
	c.handler = c.newHandler()
	return &c
}

// TestAllowedDestinations registers private URLs: refused by default with
// url_forbidden_host, accepted (create and update) when their address is
// in the deployment's allowlist, and names keep the name rules.
func TestAllowedDestinations(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		open := s.withAllowed("127.0.0.1/32,10.1.0.0/16")
		const loopback = `{"url":"https://127.0.0.1:8443/x"}`

		resp := s.create(loopback)
		if resp.StatusCode != 400 {
			t.Fatalf("without the allowlist: %d %s; want 400", resp.StatusCode, resp.Body)
		}
		if e := errorOf(t, resp); e["code"] != "url_forbidden_host" || e["param"] != "url" {
			t.Errorf("without the allowlist: %v/%v, want url_forbidden_host/url", e["code"], e["param"])
		}
		s.assertState(0, 0)

		resp = open.create(loopback)
		if resp.StatusCode != 201 {
			t.Fatalf("with the allowlist: %d %s; want 201", resp.StatusCode, resp.Body)
		}
		body := decode(t, resp)
		if body["url"] != "https://127.0.0.1:8443/x" {
			t.Errorf("url = %v", body["url"])
		}
		path := "/v1/webhooks/" + body["id"].(string)

		if r := open.call("PATCH", path, `{"url":"https://10.1.0.7/y"}`); r.StatusCode != 200 || decode(t, r)["url"] != "https://10.1.0.7/y" {
			t.Errorf("PATCH to an allowed address: %d %s", r.StatusCode, r.Body)
		}
		for _, c := range []struct {
			handler *stack
			body    string
		}{
			{s, `{"url":"https://10.1.0.8/y"}`},                // the allowlist is the deployment's, not the webhook's
			{open, `{"url":"https://10.2.0.1/y"}`},             // outside the allowed prefixes
			{open, `{"url":"https://localhost:8443/y"}`},       // names keep the name rules
			{open, `{"url":"https://169.254.169.254/latest"}`}, // metadata stays refused
		} {
			r := c.handler.call("PATCH", path, c.body)
			if r.StatusCode != 400 || errorOf(t, r)["code"] != "url_forbidden_host" {
				t.Errorf("PATCH %s: %d %s; want 400 url_forbidden_host", c.body, r.StatusCode, r.Body)
			}
		}
		if got := decode(t, s.call("GET", path, ""))["url"]; got != "https://10.1.0.7/y" {
			t.Errorf("after refused updates url = %v, want the last accepted one", got)
		}
	})
}
