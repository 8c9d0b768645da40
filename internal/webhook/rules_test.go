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
	if GracePeriodRange.Max != 604800 || MaxRetriesRange.Max != 10 || PageSizeRange.Max != 100 {
		t.Errorf("ranges changed: %+v %+v %+v", GracePeriodRange, MaxRetriesRange, PageSizeRange)
	}
}

func TestSubscribe(t *testing.T) {
	got, p := Subscribe([]Event{DocumentProcessingFailed, DocumentUploaded, DocumentProcessingFailed})
	if p != nil || len(got) != 2 || got[0] != DocumentUploaded || got[1] != DocumentProcessingFailed {
		t.Errorf("Subscribe = %v, %v; want canonical order without duplicates", got, p)
	}
	if _, p := Subscribe(nil); p == nil || p.Code != apperr.CodeEventsEmpty {
		t.Errorf("Subscribe(nil) = %v; want events_empty", p)
	}
	if _, p := ParseEvent("document.deleted"); p == nil || p.Code != apperr.CodeEventUnknown {
		t.Errorf("ParseEvent(document.deleted) = %v; want event_unknown", p)
	}
}
