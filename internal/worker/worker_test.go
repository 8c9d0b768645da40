package worker

import (
	"testing"
	"time"
)

func TestErrorDelayBacksOff(t *testing.T) {
	for receive, want := range map[int]time.Duration{0: 30 * time.Second, 1: 30 * time.Second, 2: time.Minute,
		3: 2 * time.Minute, 6: 15 * time.Minute, 50: 15 * time.Minute} {
		if got := ErrorDelay(30*time.Second, receive); got != want {
			t.Errorf("receive %d: %s, want %s", receive, got, want)
		}
	}
}
