package apperr

import (
	"strconv"

	"github.com/docproc/webhooks/internal/redact"
)

// Withheld stands in for a value the caller sent that is shaped like an
// API key or a signing secret, wherever an error would repeat it.
const Withheld = "(a value shaped like an API key or a signing secret, not repeated)"

// Echo returns s, a value the caller sent, for an error that repeats it
// (in its message or its param): s itself, or Withheld when s holds
// anything shaped like an API key ("dk_test_...", "dk_live_...") or a
// signing secret ("whsec_..."), as package redact finds them. An error
// never holds a credential, not even the caller's own sent by mistake:
// error bodies end up on screens, in tickets and in logs. A value that
// holds one once percent-decoded (a path or query as sent,
// "dk%5Ftest%5F...") is withheld too.
func Echo(s string) string {
	if redact.String(s) != s || redact.Escaped(s) != s {
		return Withheld
	}
	return s
}

// Quote is Echo for a message: s quoted as Go quotes a string, or
// Withheld.
func Quote(s string) string {
	if Echo(s) == Withheld {
		return Withheld
	}
	return strconv.Quote(s)
}

// EchoParam is Echo for an error's param, which names a field: name, or
// "" when Echo would withhold it, so that param never holds a sentence.
func EchoParam(name string) string {
	if Echo(name) == Withheld {
		return ""
	}
	return name
}
