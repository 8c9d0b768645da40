// Package tenant names who owns a resource: an account in test or live mode.
//
// An API key decides the tenant. Every stored webhook is scoped to one, so a
// test-mode key never sees live-mode data and one account never sees another's.
package tenant

import (
	"fmt"
	"regexp"
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

// accountPattern keeps account ids safe inside DynamoDB keys and Secrets
// Manager names (which allow only letters, digits and /_+=.@-).
var accountPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

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
	if !accountPattern.MatchString(t.Account) {
		return fmt.Errorf("account id %q: must be 1-64 letters, digits, '_' or '-'", t.Account)
	}
	if !t.Mode.Valid() {
		return fmt.Errorf("mode %q: must be %q or %q", t.Mode, Test, Live)
	}
	return nil
}

// String returns "account/mode", for logs.
func (t Tenant) String() string { return t.Account + "/" + string(t.Mode) }
