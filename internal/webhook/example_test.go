package webhook_test

import (
	"fmt"

	"github.com/docproc/webhooks/internal/webhook"
)

// A URL that points back into the platform's own network is refused,
// whatever notation it uses; an accepted one is stored in the form a
// client dials.
func ExampleValidateURL() {
	for _, u := range []string{
		"https://Hooks.Example.com/docs",
		"https://ｈｏｏｋｓ.example.com/docs",
		"https://0x7f.1/admin",
		"https://１６９.２５４.１６９.２５４/latest/meta-data",
		"https://[::ffff:169.254.169.254]/latest/meta-data",
		"https://billing.internal/hooks",
		"http://hooks.example.com/docs",
	} {
		if stored, p := webhook.ValidateURL(u); p != nil {
			fmt.Printf("%s\n  %s\n", u, p.Code)
		} else {
			fmt.Printf("%s\n  ok: %s\n", u, stored)
		}
	}
	// Output:
	// https://Hooks.Example.com/docs
	//   ok: https://hooks.example.com/docs
	// https://ｈｏｏｋｓ.example.com/docs
	//   ok: https://hooks.example.com/docs
	// https://0x7f.1/admin
	//   url_forbidden_host
	// https://１６９.２５４.１６９.２５４/latest/meta-data
	//   url_forbidden_host
	// https://[::ffff:169.254.169.254]/latest/meta-data
	//   url_forbidden_host
	// https://billing.internal/hooks
	//   url_forbidden_host
	// http://hooks.example.com/docs
	//   url_invalid
}
