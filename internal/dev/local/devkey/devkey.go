// Package devkey names the development API key and account that `make run`
// seeds, so that the local tools (cmd/publish) default to them without
// linking the local stack.
package devkey

// Development defaults. The key is public and works only against a local
// table: it is seeded by `make run` and by the tests, never deployed.
const (
	// APIKey is the seeded test-mode key (DEV_API_KEY overrides it).
	APIKey = "dk_test_LocalDevOnlyKey0123456789abcdef"
	// Account is the account it belongs to (DEV_ACCOUNT overrides it).
	Account = "acct_local"
)
