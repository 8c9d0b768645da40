package webhook

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/egress"
)

// MaxURLLength is the longest endpoint URL accepted, in bytes.
const MaxURLLength = 2048

// ValidateURL checks an endpoint URL against the rules in the API reference
// and returns the form to store: the URL as a delivery will dial it, with
// the host mapped to its canonical ASCII form (see egress.Host). The rules:
// absolute https, 1-2048 bytes, a host, no user info, a port from 1 to
// 65535, and a host that is neither an internal address in any notation
// nor a name that only resolves inside a network. A refusal is returned as
// an apperr.FieldProblem, and the stored form is then empty.
//
// It does not resolve DNS: a public name that resolves to an internal
// address is refused when the deliverer connects (egress.Control).
//
// ValidateURL applies the default egress rules; ValidateURLWith takes an
// operator's allowlist.
func ValidateURL(raw string) (string, *apperr.FieldProblem) {
	return ValidateURLWith(egress.Rules{}, raw)
}

// ValidateURLWith is ValidateURL under rules: an IP literal host in one of
// rules.Allow (such as https://127.0.0.1:8443/hook with 127.0.0.1/32
// allowed) is accepted. Names are judged as without an allowlist, so
// "localhost" or a name under .internal stays refused; a name that resolves
// to an allowed address is let through when the deliverer dials it.
func ValidateURLWith(rules egress.Rules, raw string) (string, *apperr.FieldProblem) {
	bad := func(code, format string, args ...any) (string, *apperr.FieldProblem) {
		return "", &apperr.FieldProblem{Code: code, Message: fmt.Sprintf(format, args...)}
	}
	switch {
	case raw == "":
		return bad(apperr.CodeURLInvalid, "url must not be empty")
	case len(raw) > MaxURLLength:
		return bad(apperr.CodeURLInvalid, "url must be at most %d bytes", MaxURLLength)
	case strings.TrimSpace(raw) != raw:
		return bad(apperr.CodeURLInvalid, "url must not start or end with white space")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad(apperr.CodeURLInvalid, "url is not a valid URL")
	}
	switch {
	case !u.IsAbs() || u.Opaque != "":
		return bad(apperr.CodeURLInvalid, "url must be an absolute URL")
	case !strings.EqualFold(u.Scheme, "https"):
		return bad(apperr.CodeURLInvalid, "url must use https")
	case u.User != nil:
		return bad(apperr.CodeURLInvalid, "url must not contain user info")
	case u.Hostname() == "":
		return bad(apperr.CodeURLInvalid, "url must have a host")
	}
	port := u.Port()
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return bad(apperr.CodeURLInvalid, "url has an invalid port")
		}
	}
	host, err := rules.Host(u.Hostname())
	switch {
	case errors.Is(err, egress.ErrForbidden):
		return bad(apperr.CodeURLForbiddenHost, "url must not point inside a network (a loopback, private, link-local, "+
			"reserved or metadata address, or a name that only resolves internally): %s", apperr.Echo(err.Error()))
	case err != nil:
		return bad(apperr.CodeURLInvalid, "url host is not valid: %s", apperr.Echo(err.Error()))
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	u.Scheme, u.Host = "https", host
	stored := u.String()
	if len(stored) > MaxURLLength {
		return bad(apperr.CodeURLInvalid, "url must be at most %d bytes once its host is mapped to ASCII", MaxURLLength)
	}
	return stored, nil
}
