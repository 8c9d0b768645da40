// Package redact keeps credentials out of log lines. Whatever a line holds
// (a request path, a query string, an error's text), anything shaped like an
// API key ("dk_test_..." or "dk_live_...") or a signing secret ("whsec_...")
// is cut down before the line is written.
package redact

import (
	"io"
	"net/url"
	"strings"
)

// Credential prefixes.
const (
	testKeyPrefix = "dk_test_"
	liveKeyPrefix = "dk_live_"
	secretPrefix  = "whsec_"
)

// SecretMark replaces a signing secret. It shows nothing of the secret.
const SecretMark = "[redacted signing secret]"

// String returns s with every API key cut to its prefix and last four
// characters ("dk_live_...wxyz", as apikey.Key prints itself; a run too
// short to be a key keeps none) and every signing secret replaced by
// SecretMark. Keys go first: a secret's characters include "/", so a
// secret written just before a key runs into the key's "dk"; were secrets
// replaced first, the rest of the key would have no prefix left and stay
// whole.
func String(s string) string {
	return replace(replace(s, keys), secrets)
}

// Escaped finds what String cannot in a value that may be percent-encoded,
// such as a URL path or query as sent: when s holds a credential once
// decoded ("dk%5Ftest%5F..."), it returns the decoded s with the
// credential cut out; otherwise s as it is, for String (or a log line's
// redaction) to judge. Redaction is not idempotent, so it never cuts what
// String will cut again.
func Escaped(s string) string {
	for _, unescape := range []func(string) (string, error){url.PathUnescape, url.QueryUnescape} {
		if u, err := unescape(s); err == nil && u != s {
			if r := String(u); r != u {
				return r
			}
		}
	}
	return s
}

// keys cuts the API key at the start of s, if there is one.
func keys(s string) (string, int) {
	if !strings.HasPrefix(s, testKeyPrefix) && !strings.HasPrefix(s, liveKeyPrefix) {
		return "", 0
	}
	n := len(testKeyPrefix) + run(s[len(testKeyPrefix):], isKeyChar)
	if n-len(testKeyPrefix) >= 24 {
		return s[:len(testKeyPrefix)] + "..." + s[n-4:n], n
	}
	return s[:len(testKeyPrefix)] + "...", n
}

// secrets replaces the signing secret at the start of s, if there is one.
func secrets(s string) (string, int) {
	if !strings.HasPrefix(s, secretPrefix) {
		return "", 0
	}
	return SecretMark, len(secretPrefix) + run(s[len(secretPrefix):], isSecretChar)
}

// replace rewrites every match of at in s: at reports, for a position,
// the replacement and how many bytes it replaces (0 for no match).
func replace(s string, at func(string) (string, int)) string {
	if !strings.Contains(s, testKeyPrefix) && !strings.Contains(s, liveKeyPrefix) && !strings.Contains(s, secretPrefix) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if repl, n := at(s[i:]); n > 0 {
			b.WriteString(repl)
			i += n
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// run returns how many leading bytes of s satisfy ok.
func run(s string, ok func(byte) bool) int {
	n := 0
	for n < len(s) && ok(s[n]) {
		n++
	}
	return n
}

// isKeyChar reports whether c can be part of an API key's random part.
func isKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isSecretChar reports whether c can be part of a signing secret, as
// written or percent-encoded in a URL.
func isSecretChar(c byte) bool {
	return isKeyChar(c) || c == '+' || c == '/' || c == '=' || c == '%'
}

// writer redacts each write before passing it on.
type writer struct{ w io.Writer }

// Writer returns a writer that redacts everything written to it before
// writing it to w. log/slog handlers write each record in one call, so a
// credential is never split across two writes.
func Writer(w io.Writer) io.Writer { return writer{w} }

// Write implements io.Writer.
func (r writer) Write(p []byte) (int, error) {
	out := String(string(p))
	if _, err := io.WriteString(r.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}
