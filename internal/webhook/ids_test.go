package webhook

import (
	"strings"
	"testing"
	"time"
)

func TestNewIDIsPrefixedAndTimeSortable(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	prev := ""
	for i := range 100 {
		id, err := NewID(t0.Add(time.Duration(i) * time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(id, IDPrefix) || len(id) != 29 || !ValidID(id) {
			t.Fatalf("id %q is not wh_ plus 26 ULID characters", id)
		}
		if id <= prev {
			t.Fatalf("id %q does not sort after %q, made a millisecond earlier", id, prev)
		}
		prev = id
	}
	for _, bad := range []string{"", "wh_", "wh_01", "whx01J0000000000000000000000", "wh_" + strings.Repeat("U", 26), "WH_01JDXW3V5W4V0X2T1D6Q9V5N3K"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}
