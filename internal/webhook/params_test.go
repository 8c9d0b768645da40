package webhook

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/docproc/webhooks/internal/apperr"
)

// members splits a JSON object the way the api package does.
func members(t testing.TB, body string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("bad test body %s: %v", body, err)
	}
	return m
}

func TestParseCreateParamsValid(t *testing.T) {
	cases := []struct {
		body string
		want CreateParams
	}{
		{`{"url":"https://e.com"}`, CreateParams{URL: "https://e.com",
			Events:   []Event{DocumentProcessingCompleted, DocumentProcessingFailed},
			IsActive: true, RetryEnabled: true, MaxRetries: 5}},
		{`{"url":"https://e.com","events":["document.processing.failed","document.uploaded","document.uploaded"],
		   "is_active":false,"retry_enabled":false,"max_retries":0}`, CreateParams{URL: "https://e.com",
			Events: []Event{DocumentUploaded, DocumentProcessingFailed}, MaxRetries: 0}},
		{`{"url":"https://e.com","max_retries":10}`, CreateParams{URL: "https://e.com",
			Events:   []Event{DocumentProcessingCompleted, DocumentProcessingFailed},
			IsActive: true, RetryEnabled: true, MaxRetries: 10}},
	}
	for _, c := range cases {
		got, err := ParseCreateParams(members(t, c.body))
		if err != nil {
			t.Errorf("%s: %v", c.body, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.body, got, c.want)
		}
	}
}

// invalidParams is the table of bad create bodies. FuzzParseCreateParams
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
	{`{"url":"https://e.com","zeta":1,"alpha":2}`, []string{"alpha parameter_unknown", "zeta parameter_unknown"}},
	{`{"url":"ftp://x","events":[],"is_active":"no","retry_enabled":0,"max_retries":11,"signing_secret":"x"}`,
		[]string{"url url_invalid", "events events_empty", "is_active parameter_invalid_type",
			"retry_enabled parameter_invalid_type", "max_retries max_retries_invalid", "signing_secret parameter_unknown"}},
}

func TestParseCreateParamsInvalid(t *testing.T) {
	cases := invalidParams
	for _, c := range cases {
		_, err := ParseCreateParams(members(t, c.body))
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

func FuzzParseCreateParams(f *testing.F) {
	for _, c := range invalidParams {
		f.Add(c.body)
	}
	f.Add(`{"url":"https://example.com/hooks","events":["document.uploaded"],"max_retries":0}`)
	f.Fuzz(func(t *testing.T, body string) {
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(body), &m) != nil {
			return
		}
		p, err := ParseCreateParams(m)
		if err != nil {
			if e := apperr.As(err); e == nil || e.Kind != apperr.Invalid || len(e.Details) == 0 {
				t.Fatalf("error is not a detailed validation error: %v", err)
			}
			return
		}
		if stored, fp := ValidateURL(p.URL); fp != nil || stored != p.URL || len(p.Events) == 0 || p.MaxRetries < 0 || p.MaxRetries > MaxMaxRetries {
			t.Fatalf("accepted invalid params %+v", p)
		}
		// The normalized form means the same request: re-encoded and parsed
		// again, it has the same fingerprint.
		again, err := json.Marshal(map[string]any{"url": p.URL, "events": p.Events, "is_active": p.IsActive,
			"retry_enabled": p.RetryEnabled, "max_retries": p.MaxRetries})
		if err != nil {
			t.Fatal(err)
		}
		q, err := ParseCreateParams(members(t, string(again)))
		if err != nil || q.Fingerprint() != p.Fingerprint() {
			t.Fatalf("normalized %s parses to %+v, %v; fingerprint changed", again, q, err)
		}
	})
}
