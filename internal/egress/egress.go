// Package egress decides where the service may send requests: which URL
// hosts a customer may register and which addresses a deliverer may dial.
//
// The same rules serve both moments. At registration, Host maps a URL's host
// the way Go's HTTP client will when it dials (IDNA UTS #46 for non-ASCII
// names, strict IP parsing), refuses what cannot be mapped, names that only
// resolve inside a network, and IP literals CheckAddr refuses. At connect
// time, Control applies CheckAddr to the address a name actually resolved
// to, so DNS that points a public name at an internal address is refused too.
//
// The package-level functions apply the default rules: nothing inside a
// network may be reached. A Rules value with an allowlist (the operator's
// ALLOWED_DESTINATION_CIDRS) additionally lets through addresses in the
// listed prefixes, at registration and at connect time alike.
//
// The files: host.go checks URL hosts (names, IP literals, IDNA); addr.go
// checks the addresses dialled (the refused ranges, Control); rules.go is
// Rules, the operator's allowlist, and ParseCIDRs; this file holds the
// errors every check returns.
package egress

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns wraps one of them.
var (
	// ErrForbidden is a destination inside a network: a loopback, private,
	// link-local, reserved or otherwise non-public address, or a name that
	// only resolves inside a network.
	ErrForbidden = errors.New("destination is not on the public internet")
	// ErrInvalid is a host that no client could dial: not a domain name, an
	// IPv4 address in a notation a resolver would not take as an address,
	// or a name that cannot be mapped to ASCII.
	ErrInvalid = errors.New("not a valid host")
)

// hostError is a refusal with its reason, wrapping a sentinel.
type hostError struct {
	kind   error
	reason string
}

func (e *hostError) Error() string { return e.reason }
func (e *hostError) Unwrap() error { return e.kind }

func forbidden(format string, args ...any) error {
	return &hostError{kind: ErrForbidden, reason: fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) error {
	return &hostError{kind: ErrInvalid, reason: fmt.Sprintf(format, args...)}
}
