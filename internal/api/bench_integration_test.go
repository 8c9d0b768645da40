package api_test

import (
	"fmt"
	"testing"

	"github.com/docproc/webhooks/internal/dev/testenv"
)

// BenchmarkCreateEndToEnd runs the real handler, domain, adapters and AWS
// SDK against kumo in this process: a warm create (key cached) is one
// CreateSecret and one TransactWriteItems over local HTTP.
func BenchmarkCreateEndToEnd(b *testing.B) {
	s := newLimitedStack(b, testenv.Kumo(b), 1<<30)
	s.mustCreate(`{"url":"https://example.com/warm-up"}`)
	i := 0
	for b.Loop() {
		i++
		if r := s.create(fmt.Sprintf(`{"url":"https://example.com/%d"}`, i)); r.StatusCode != 201 {
			b.Fatalf("create: %d %s", r.StatusCode, r.Body)
		}
	}
}
