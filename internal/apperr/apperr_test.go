package apperr_test

import (
	"strings"
	"testing"

	"github.com/docproc/webhooks/internal/apperr"
)

func TestEchoWithholdsCredentials(t *testing.T) {
	for _, s := range []string{
		"dk_test_4eC39HqLyjWDarjtT1zdp7dc",
		"dk_live_4eC39HqLyjWDarjtT1zdp7dc",
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"x-dk_test_abc",
		"dk%5Ftest%5F4eC39HqLyjWDarjtT1zdp7dc",
		"whsec%5fMfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	} {
		if got := apperr.Echo(s); got != apperr.Withheld {
			t.Errorf("Echo(%q) = %q; want it withheld", s, got)
		}
		if got := apperr.EchoParam(s); got != "" {
			t.Errorf("EchoParam(%q) = %q; want it empty", s, got)
		}
		if got := apperr.Quote(s); got != apperr.Withheld {
			t.Errorf("Quote(%q) = %q; want it withheld", s, got)
		}
	}
	if got := apperr.Echo("document.uploaded"); got != "document.uploaded" {
		t.Errorf("Echo of a plain value = %q", got)
	}
	if got := apperr.EchoParam("colour"); got != "colour" {
		t.Errorf("EchoParam of a plain name = %q", got)
	}
	if got := apperr.Quote("colour"); got != `"colour"` {
		t.Errorf("Quote of a plain value = %s", got)
	}
}

func TestResourceMissingNamesOnlyWellFormedIDs(t *testing.T) {
	e := apperr.ResourceMissing("id", "webhook", "wh_01M8SGYQ9YKF9CTDV3NSF785K9", true)
	if e.Kind != apperr.NotFound || e.Code != apperr.CodeResourceMissing || e.Param != "id" ||
		e.Message != `no such webhook: "wh_01M8SGYQ9YKF9CTDV3NSF785K9"` {
		t.Errorf("well-formed: %+v", e)
	}
	key := "dk_test_4eC39HqLyjWDarjtT1zdp7dc"
	e = apperr.ResourceMissing("id", "webhook", key, false)
	if e.Kind != apperr.NotFound || e.Code != apperr.CodeResourceMissing || strings.Contains(e.Message, "dk_test") {
		t.Errorf("ill-formed: %+v", e)
	}
}
