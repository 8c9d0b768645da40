package webhook

import (
	"testing"

	"github.com/docproc/webhooks/internal/apperr"
)

func TestRangeParse(t *testing.T) {
	r := Range{Param: "n", Code: "n_invalid", Min: 1, Max: 10}
	for lit, want := range map[string]int{"1": 1, "10": 10, "7": 7} {
		if got, p := r.Parse(lit); p != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", lit, got, p, want)
		}
	}
	for _, lit := range []string{"0", "11", "-1", "01", "+5", "1.0", "1e1", "", "-", "ten", "99999999999999999999"} {
		if _, p := r.Parse(lit); p == nil || p.Code != "n_invalid" || p.Message != "n must be a whole number from 1 to 10" {
			t.Errorf("Parse(%q) = %+v; want n_invalid with the range in the message", lit, p)
		}
	}
	if n, p := GracePeriodRange.Parse("-0"); p != nil || n != 0 {
		t.Errorf("-0 is JSON's zero: %d, %v", n, p)
	}
	if GracePeriodRange.Max != 604800 || MaxRetriesRange.Max != 10 || PageSizeRange.Max != 100 || RateLimitRange.Max != 1000 {
		t.Errorf("ranges changed: %+v %+v %+v %+v", GracePeriodRange, MaxRetriesRange, PageSizeRange, RateLimitRange)
	}
	if _, p := MaxRetriesRange.Parse("null"); p == nil {
		t.Error("max_retries accepted null")
	}
}

// rate_limit is 1 to 1000 or null, which reads as 0 (no limit); 0 itself
// is refused, and the message says null is the way to ask for no limit.
func TestRateLimitRange(t *testing.T) {
	for lit, want := range map[string]int{"null": 0, "1": 1, "1000": 1000, "50": 50} {
		if got, p := RateLimitRange.Parse(lit); p != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", lit, got, p, want)
		}
	}
	for _, lit := range []string{"0", "-0", "-1", "1001", "1.5", "1.0", "1e2", "Null", ""} {
		_, p := RateLimitRange.Parse(lit)
		if p == nil || p.Code != apperr.CodeRateLimitInvalid ||
			p.Message != "rate_limit must be a whole number from 1 to 1000, or null for no limit" {
			t.Errorf("Parse(%q) = %+v; want rate_limit_invalid naming the range and null", lit, p)
		}
	}
}

// An update's rate_limit: left out keeps the limit, a number replaces it,
// 0 (null) removes it; a new webhook has none.
func TestApplyRateLimit(t *testing.T) {
	limited := Settings{URL: "https://e.com", RateLimit: 50}
	n, none := 7, 0
	for _, c := range []struct {
		u    UpdateParams
		want int
	}{{UpdateParams{}, 50}, {UpdateParams{RateLimit: &n}, 7}, {UpdateParams{RateLimit: &none}, 0}} {
		if got := c.u.Apply(limited).RateLimit; got != c.want {
			t.Errorf("Apply(%+v) rate limit = %d, want %d", c.u, got, c.want)
		}
	}
	url := "https://e.com"
	if got := NewSettings(UpdateParams{URL: &url}).RateLimit; got != 0 {
		t.Errorf("a new webhook's rate limit = %d, want 0 (none)", got)
	}
}

func TestSubscribe(t *testing.T) {
	got, p := Subscribe([]EventType{DocumentProcessingFailed, DocumentUploaded, DocumentProcessingFailed})
	if p != nil || len(got) != 2 || got[0] != DocumentUploaded || got[1] != DocumentProcessingFailed {
		t.Errorf("Subscribe = %v, %v; want canonical order without duplicates", got, p)
	}
	if _, p := Subscribe(nil); p == nil || p.Code != apperr.CodeEventsEmpty {
		t.Errorf("Subscribe(nil) = %v; want events_empty", p)
	}
	if _, p := ParseEventType("document.deleted"); p == nil || p.Code != apperr.CodeEventUnknown {
		t.Errorf("ParseEventType(document.deleted) = %v; want event_unknown", p)
	}
}
