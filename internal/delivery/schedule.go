package delivery

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// MaxWait is the longest wait before a retry. A wait holds nothing in
// flight (see park.go), so it is bounded only by what a customer would
// wait for one retry.
const MaxWait = 24 * time.Hour

// DefaultHorizon is how long after its series began a delivery may still
// be retried (Stripe retries for up to three days): a retry that would
// fall later is not made, and the delivery fails as exhausted.
const DefaultHorizon = 72 * time.Hour

// MaxHorizon is the longest horizon a deployment may set.
const MaxHorizon = 72 * time.Hour

// MaxRetryAfter is the longest Retry-After honoured. A longer one waits
// this long.
const MaxRetryAfter = time.Hour

// Jitter is the fraction by which a scheduled wait is varied at random,
// either way, so that retries of many deliveries spread out.
const Jitter = 0.1

// DefaultSchedule is the waits before each retry, after Svix's: 5 s, 5 min,
// 30 min, 2 h, 5 h, 10 h, then 10 h for every later retry.
var DefaultSchedule = Schedule{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour}

// Schedule is the waits before the first, second, ... retry; the last one
// repeats.
type Schedule []time.Duration

// ParseSchedule reads comma-separated Go durations, such as
// "5s,5m,30m,2h,5h,10h". Each must be from 0 to MaxWait.
func ParseSchedule(s string) (Schedule, error) {
	var out Schedule
	for part := range strings.SplitSeq(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || d < 0 || d > MaxWait {
			return nil, fmt.Errorf("%q is not a duration from 0s to %s", strings.TrimSpace(part), MaxWait)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the schedule is empty")
	}
	return out, nil
}

// String is the schedule as ParseSchedule reads it.
func (s Schedule) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

// Wait is how long to wait before retry number n (1 for the first retry):
// the schedule's wait varied by up to Jitter either way, or the endpoint's
// Retry-After when that is longer (capped at MaxRetryAfter), varied by up
// to Jitter upward only, never more than MaxWait.
func (s Schedule) Wait(n int, retryAfter time.Duration) time.Duration {
	d := s[min(max(n, 1), len(s))-1]
	d += time.Duration((rand.Float64()*2 - 1) * Jitter * float64(d))
	if ra := min(retryAfter, MaxRetryAfter); ra > d {
		// Never sooner than the endpoint asked, but spread: every
		// delivery it answered so would otherwise come back at once.
		d = ra + time.Duration(rand.Float64()*Jitter*float64(ra))
	}
	return min(d, MaxWait)
}
