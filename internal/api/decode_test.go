package api

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/egress"
	"github.com/docproc/webhooks/internal/webhook"
)

// members splits a JSON object the way decodeObject does.
func members(t testing.TB, body string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("bad test body %s: %v", body, err)
	}
	return m
}

func TestDecodeCreateValid(t *testing.T) {
	cases := []struct {
		body string
		want webhook.Settings
	}{
		{`{"url":"https://e.com"}`, webhook.Settings{URL: "https://e.com",
			Events:   []webhook.EventType{webhook.DocumentProcessingCompleted, webhook.DocumentProcessingFailed},
			IsActive: true, RetryEnabled: true, MaxRetries: 5}},
		{`{"url":"https://e.com","events":["document.processing.failed","document.uploaded","document.uploaded"],
		   "is_active":false,"retry_enabled":false,"max_retries":0}`, webhook.Settings{URL: "https://e.com",
			Events: []webhook.EventType{webhook.DocumentUploaded, webhook.DocumentProcessingFailed}, MaxRetries: 0}},
		{`{"url":"https://e.com","max_retries":10}`, webhook.Settings{URL: "https://e.com",
			Events:   []webhook.EventType{webhook.DocumentProcessingCompleted, webhook.DocumentProcessingFailed},
			IsActive: true, RetryEnabled: true, MaxRetries: 10}},
		{`{"url":"https://e.com","rate_limit":1000}`, webhook.Settings{URL: "https://e.com",
			Events:   []webhook.EventType{webhook.DocumentProcessingCompleted, webhook.DocumentProcessingFailed},
			IsActive: true, RetryEnabled: true, MaxRetries: 5, RateLimit: 1000}},
		{`{"url":"https://e.com","rate_limit":null}`, webhook.Settings{URL: "https://e.com",
			Events:   []webhook.EventType{webhook.DocumentProcessingCompleted, webhook.DocumentProcessingFailed},
			IsActive: true, RetryEnabled: true, MaxRetries: 5}},
	}
	for _, c := range cases {
		got, err := decodeCreate(egress.Rules{}, members(t, c.body))
		if err != nil {
			t.Errorf("%s: %v", c.body, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.body, got, c.want)
		}
	}
}

// invalidParams is the table of bad create bodies. FuzzDecodeCreate
// starts from it too.
var invalidParams = []struct {
	body string
	want []string // "param code" of each problem, in order
}{
	{`{}`, []string{"url parameter_missing"}},
	{`{"url":null}`, []string{"url parameter_invalid_type"}},
	{`{"url":5}`, []string{"url parameter_invalid_type"}},
	{`{"url":"http://e.com"}`, []string{"url url_invalid"}},
	{`{"url":"https://10.1.2.3"}`, []string{"url url_forbidden_host"}},
	{`{"url":"https://e.com","events":[]}`, []string{"events events_empty"}},
	{`{"url":"https://e.com","events":"document.uploaded"}`, []string{"events parameter_invalid_type"}},
	{`{"url":"https://e.com","events":null}`, []string{"events parameter_invalid_type"}},
	{`{"url":"https://e.com","events":["document.uploaded",1,"nope"]}`,
		[]string{"events[1] parameter_invalid_type", "events[2] event_unknown"}},
	{`{"url":"https://e.com","is_active":"true"}`, []string{"is_active parameter_invalid_type"}},
	{`{"url":"https://e.com","is_active":1}`, []string{"is_active parameter_invalid_type"}},
	{`{"url":"https://e.com","retry_enabled":null}`, []string{"retry_enabled parameter_invalid_type"}},
	{`{"url":"https://e.com","max_retries":-1}`, []string{"max_retries max_retries_invalid"}},
	{`{"url":"https://e.com","max_retries":11}`, []string{"max_retries max_retries_invalid"}},
	{`{"url":"https://e.com","max_retries":5.5}`, []string{"max_retries max_retries_invalid"}},
	{`{"url":"https://e.com","max_retries":5.0}`, []string{"max_retries max_retries_invalid"}},
	{`{"url":"https://e.com","max_retries":1e1}`, []string{"max_retries max_retries_invalid"}},
	{`{"url":"https://e.com","max_retries":99999999999999999999}`, []string{"max_retries max_retries_invalid"}},
	{`{"url":"https://e.com","max_retries":"5"}`, []string{"max_retries parameter_invalid_type"}},
	{`{"url":"https://e.com","max_retries":null}`, []string{"max_retries parameter_invalid_type"}},
	{`{"url":"https://e.com","rate_limit":0}`, []string{"rate_limit rate_limit_invalid"}},
	{`{"url":"https://e.com","rate_limit":-1}`, []string{"rate_limit rate_limit_invalid"}},
	{`{"url":"https://e.com","rate_limit":1001}`, []string{"rate_limit rate_limit_invalid"}},
	{`{"url":"https://e.com","rate_limit":1.5}`, []string{"rate_limit rate_limit_invalid"}},
	{`{"url":"https://e.com","rate_limit":1e2}`, []string{"rate_limit rate_limit_invalid"}},
	{`{"url":"https://e.com","rate_limit":"50"}`, []string{"rate_limit parameter_invalid_type"}},
	{`{"url":"https://e.com","rate_limit":true}`, []string{"rate_limit parameter_invalid_type"}},
	{`{"url":"https://e.com","rate_limit":[50]}`, []string{"rate_limit parameter_invalid_type"}},
	{`{"url":"https://e.com","zeta":1,"alpha":2}`, []string{"alpha parameter_unknown", "zeta parameter_unknown"}},
	{`{"url":"ftp://x","events":[],"is_active":"no","retry_enabled":0,"max_retries":11,"rate_limit":0,"signing_secret":"x"}`,
		[]string{"url url_invalid", "events events_empty", "is_active parameter_invalid_type",
			"retry_enabled parameter_invalid_type", "max_retries max_retries_invalid", "rate_limit rate_limit_invalid",
			"signing_secret parameter_unknown"}},
}

func TestDecodeCreateInvalid(t *testing.T) {
	cases := invalidParams
	for _, c := range cases {
		_, err := decodeCreate(egress.Rules{}, members(t, c.body))
		e := apperr.As(err)
		if e == nil || e.Kind != apperr.Invalid {
			t.Errorf("%s: err = %v, want an Invalid error", c.body, err)
			continue
		}
		var got []string
		for _, d := range e.Details {
			got = append(got, d.Param+" "+d.Code)
			if d.Message == "" {
				t.Errorf("%s: %s has no message", c.body, d.Param)
			}
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.body, got, c.want)
		}
		if first := fmt.Sprint(e.Param, " ", e.Code); first != c.want[0] {
			t.Errorf("%s: top-level param/code = %q, want the first problem %q", c.body, first, c.want[0])
		}
	}
}

func FuzzDecodeCreate(f *testing.F) {
	for _, c := range invalidParams {
		f.Add(c.body)
	}
	f.Add(`{"url":"https://example.com/hooks","events":["document.uploaded"],"max_retries":0}`)
	f.Add(`{"url":"https://example.com/hooks","rate_limit":50}`)
	f.Add(`{"url":"https://example.com/hooks","rate_limit":null}`)
	f.Fuzz(func(t *testing.T, body string) {
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(body), &m) != nil {
			return
		}
		p, err := decodeCreate(egress.Rules{}, m)
		if err != nil {
			if e := apperr.As(err); e == nil || e.Kind != apperr.Invalid || len(e.Details) == 0 {
				t.Fatalf("error is not a detailed validation error: %v", err)
			}
			return
		}
		if stored, fp := webhook.ValidateURL(p.URL); fp != nil || stored != p.URL || len(p.Events) == 0 || p.MaxRetries < webhook.MaxRetriesRange.Min || p.MaxRetries > webhook.MaxRetriesRange.Max ||
			p.RateLimit != 0 && (p.RateLimit < webhook.RateLimitRange.Min || p.RateLimit > webhook.RateLimitRange.Max) {
			t.Fatalf("accepted invalid params %+v", p)
		}
		// The normalized form means the same request: re-encoded and parsed
		// again, it has the same fingerprint.
		var rate *int
		if p.RateLimit != 0 {
			rate = &p.RateLimit
		}
		again, err := json.Marshal(map[string]any{"url": p.URL, "events": p.Events, "is_active": p.IsActive,
			"retry_enabled": p.RetryEnabled, "max_retries": p.MaxRetries, "rate_limit": rate})
		if err != nil {
			t.Fatal(err)
		}
		q, err := decodeCreate(egress.Rules{}, members(t, string(again)))
		if err != nil || q.Fingerprint() != p.Fingerprint() {
			t.Fatalf("normalized %s parses to %+v, %v; fingerprint changed", again, q, err)
		}
	})
}

func TestDecodeRotate(t *testing.T) {
	for body, want := range map[string]time.Duration{
		`{}`: webhook.DefaultGracePeriod, `{"grace_period_seconds":0}`: 0, `{"grace_period_seconds":604800}`: 7 * 24 * time.Hour,
		`{"grace_period_seconds":-1}`: -1, `{"grace_period_seconds":604801}`: -1, `{"grace_period_seconds":1.5}`: -1,
		`{"grace_period_seconds":"60"}`: -1, `{"grace_period_seconds":1e3}`: -1, `{"other":1}`: -1,
	} {
		got, err := decodeRotate(members(t, body))
		if want < 0 && err == nil {
			t.Errorf("%s accepted as %v", body, got)
		}
		if want >= 0 && (err != nil || got != want) {
			t.Errorf("%s = %v, %v; want %v", body, got, err, want)
		}
	}
	if got, err := decodeRotate(nil); err != nil || got != webhook.DefaultGracePeriod {
		t.Errorf("no body = %v, %v; want the default", got, err)
	}
}

// The rotate body's problems keep their codes and order: a grace period of
// any other JSON type is grace_period_invalid, problems follow the members'
// names, and a number too large for a time.Duration is refused, not
// wrapped around to a negative grace.
func TestDecodeRotateProblems(t *testing.T) {
	for body, want := range map[string][]string{
		`{"grace_period_seconds":"60"}`:        {"grace_period_seconds grace_period_invalid"},
		`{"grace_period_seconds":null}`:        {"grace_period_seconds grace_period_invalid"},
		`{"grace_period_seconds":true}`:        {"grace_period_seconds grace_period_invalid"},
		`{"grace_period_seconds":9223372037}`:  {"grace_period_seconds grace_period_invalid"},
		`{"grace_period_seconds":18446744073}`: {"grace_period_seconds grace_period_invalid"},
		`{"a":1,"grace_period_seconds":-1}`:    {"a parameter_unknown", "grace_period_seconds grace_period_invalid"},
		`{"grace_period_seconds":-1,"zz":1}`:   {"grace_period_seconds grace_period_invalid", "zz parameter_unknown"},
	} {
		_, err := decodeRotate(members(t, body))
		e := apperr.As(err)
		if e == nil {
			t.Errorf("%s: accepted", body)
			continue
		}
		var got []string
		for _, d := range e.Details {
			got = append(got, d.Param+" "+d.Code)
		}
		if !reflect.DeepEqual(got, want) || e.Param+" "+e.Code != want[0] {
			t.Errorf("%s: top %s %s, details %q; want %q", body, e.Param, e.Code, got, want)
		}
	}
}

func TestDecodeUpdate(t *testing.T) {
	u, err := decodeUpdate(egress.Rules{}, members(t, `{"is_active":false,"max_retries":0}`))
	if err != nil {
		t.Fatal(err)
	}
	before := webhook.Settings{URL: "https://e.com", Events: webhook.DefaultEvents, IsActive: true, RetryEnabled: true, MaxRetries: 5}
	after := u.Apply(before)
	if after.IsActive || after.MaxRetries != 0 || after.URL != before.URL || !after.RetryEnabled || len(after.Events) != 2 {
		t.Errorf("Apply = %+v; only is_active and max_retries may change", after)
	}
	if _, err := decodeUpdate(egress.Rules{}, members(t, `{"url":"http://e.com","colour":1,"events":[]}`)); err == nil ||
		len(apperr.As(err).Details) != 3 {
		t.Errorf("update with three problems: %v", err)
	}
}

// An update's rate_limit: left out keeps the limit, a number replaces it,
// null removes it, and anything else is refused naming rate_limit.
func TestDecodeUpdateRateLimit(t *testing.T) {
	limited := webhook.Settings{URL: "https://e.com", Events: webhook.DefaultEvents, RateLimit: 50}
	for body, want := range map[string]int{`{"is_active":true}`: 50, `{"rate_limit":7}`: 7, `{"rate_limit":null}`: 0} {
		u, err := decodeUpdate(egress.Rules{}, members(t, body))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if got := u.Apply(limited).RateLimit; got != want {
			t.Errorf("%s: rate limit %d, want %d", body, got, want)
		}
	}
	for body, code := range map[string]string{
		`{"rate_limit":0}`: apperr.CodeRateLimitInvalid, `{"rate_limit":1.5}`: apperr.CodeRateLimitInvalid,
		`{"rate_limit":"7"}`: apperr.CodeParameterInvalidType,
	} {
		_, err := decodeUpdate(egress.Rules{}, members(t, body))
		if e := apperr.As(err); e == nil || e.Code != code || e.Param != "rate_limit" {
			t.Errorf("%s: %v; want %s naming rate_limit", body, err, code)
		}
	}
}

func TestFingerprintIsOfTheNormalizedRequest(t *testing.T) {
	fp := func(body string) string {
		t.Helper()
		p, err := decodeCreate(egress.Rules{}, members(t, body))
		if err != nil {
			t.Fatal(err)
		}
		return p.Fingerprint()
	}
	base := fp(`{"url":"https://e.com"}`)
	for _, same := range []string{
		`{"url":"https://e.com","max_retries":5}`,
		`{"max_retries":5,"is_active":true,"retry_enabled":true,"url":"https://e.com"}`,
		`{"url":"https://e.com","events":["document.processing.failed","document.processing.completed","document.processing.failed"]}`,
		`{"url":"https://e.com","rate_limit":null}`,
	} {
		if got := fp(same); got != base {
			t.Errorf("%s has another fingerprint than its defaults spelled out", same)
		}
	}
	for _, other := range []string{
		`{"url":"https://e.com/"}`,
		`{"url":"https://e.com","max_retries":4}`,
		`{"url":"https://e.com","is_active":false}`,
		`{"url":"https://e.com","retry_enabled":false}`,
		`{"url":"https://e.com","events":["document.uploaded"]}`,
		`{"url":"https://e.com","rate_limit":5}`,
	} {
		if fp(other) == base {
			t.Errorf("%s has the fingerprint of another request", other)
		}
	}
	if len(base) != 64 {
		t.Errorf("fingerprint %q is not hex SHA-256", base)
	}
}

// TestDecodeJudgesURLUnderTheDeploymentsRules: the url of a create or
// update body is judged under the egress rules the handler was built with.
func TestDecodeJudgesURLUnderTheDeploymentsRules(t *testing.T) {
	open := egress.Rules{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	body := `{"url":"https://127.0.0.1:8443/x"}`
	if p, err := decodeCreate(open, members(t, body)); err != nil || p.URL != "https://127.0.0.1:8443/x" {
		t.Errorf("create with the allowlist: %+v, %v", p, err)
	}
	if u, err := decodeUpdate(open, members(t, body)); err != nil || u.URL == nil || *u.URL != "https://127.0.0.1:8443/x" {
		t.Errorf("update with the allowlist: %+v, %v", u, err)
	}
	for name, decode := range map[string]func() error{
		"create": func() error { _, err := decodeCreate(egress.Rules{}, members(t, body)); return err },
		"update": func() error { _, err := decodeUpdate(egress.Rules{}, members(t, body)); return err },
	} {
		err := decode()
		if e := apperr.As(err); e == nil || e.Code != apperr.CodeURLForbiddenHost || e.Param != "url" {
			t.Errorf("%s without the allowlist: %v, want %s", name, err, apperr.CodeURLForbiddenHost)
		}
	}
}

// A credential sent as a parameter's name or value, by mistake, is never
// repeated in the problem: not in its message, not in its param.
func TestProblemsNeverRepeatCredentials(t *testing.T) {
	key := "dk_live_4eC39HqLyjWDarjtT1zdp7dc"
	var errs []error
	_, err := decodeUpdate(egress.Rules{}, members(t, `{"`+key+`":1,"events":["`+key+`"],"url":"https://`+key+`/"}`))
	errs = append(errs, err)
	_, _, err = decodeList(map[string]string{key: "1"})
	errs = append(errs, err)
	_, err = decodeDeliveriesQuery(map[string]string{"state": key, "event_type": key})
	errs = append(errs, err)
	_, err = decodeObject([]byte(`{"` + key + `":1,"` + key + `":2}`))
	errs = append(errs, err)
	for _, err := range errs {
		e := apperr.As(err)
		if e == nil {
			t.Fatalf("no problem reported: %v", err)
		}
		if b, _ := json.Marshal(e); strings.Contains(string(b)+e.Message+e.Param, "dk_live_") {
			t.Errorf("the problem repeats the key: %s", b)
		}
	}
}
