package syncbuf_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/docproc/webhooks/internal/dev/syncbuf"
)

// TestConcurrentWritesAreKeptWhole: writes from many goroutines all land,
// each whole, while another goroutine reads; Drain empties the buffer.
// Run with -race, it also shows the reads and writes do not race.
func TestConcurrentWritesAreKeptWhole(t *testing.T) {
	var b syncbuf.Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_, _ = b.Write([]byte("line\n"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	got := b.Drain()
	if n := strings.Count(got, "line\n"); n != 800 || len(got) != 800*len("line\n") {
		t.Errorf("Drain has %d whole lines in %d bytes; want 800", n, len(got))
	}
	if rest := b.String(); rest != "" {
		t.Errorf("after Drain, String = %q; want empty", rest)
	}
}
