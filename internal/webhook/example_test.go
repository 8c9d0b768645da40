package webhook_test

import (
	"fmt"

	"github.com/docproc/webhooks/internal/webhook"
)

// A URL that points back into the platform's own network is refused,
// whatever notation it uses.
func ExampleValidateURL() {
	for _, u := range []string{
		"https://hooks.example.com/docs",
		"https://0x7f.1/admin",
		"https://[::ffff:169.254.169.254]/latest/meta-data",
		"http://hooks.example.com/docs",
	} {
		if p := webhook.ValidateURL(u); p != nil {
			fmt.Printf("%-50s %s\n", u, p.Code)
		} else {
			fmt.Printf("%-50s ok\n", u)
		}
	}
	// Output:
	// https://hooks.example.com/docs                     ok
	// https://0x7f.1/admin                               url_forbidden_host
	// https://[::ffff:169.254.169.254]/latest/meta-data  url_forbidden_host
	// http://hooks.example.com/docs                      url_invalid
}
