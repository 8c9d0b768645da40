package delivery

import (
	"math/rand/v2"
	"time"
)

// An endpoint's gate admits its attempts, so that no endpoint, however
// slow, dead or busy, takes the delivery capacity that every endpoint
// shares. It bounds the attempts in progress at once (Concurrency, of
// which retries may hold only half, retryShare), the attempts begun per second
// (the webhook's rate_limit), and it holds a circuit breaker: an endpoint
// whose recent attempts mostly failed trips it, and its deliveries then
// wait behind one probe attempt at a time, spaced out, instead of each
// spending a timeout. A delivery the gate holds back is parked (park.go),
// unattempted and not charged an attempt.

// BreakerRules say when an endpoint's breaker trips and how long it stays
// open. It trips when, over the last Window, at least MinAttempts attempts
// were made and at least FailureRatio of them failed (a timeout, a
// connection error, a 5xx: the endpoint is not answering, as opposed to
// refusing with a 4xx). It stays open for Open after its first trip before
// one probe may go; that doubles with each probe that fails, up to
// MaxOpen. A probe that succeeds closes it.
type BreakerRules struct {
	// Window is how far back attempts are counted.
	Window time.Duration
	// MinAttempts is the fewest attempts in Window that may trip it.
	MinAttempts int
	// FailureRatio is the share of those that must have failed.
	FailureRatio float64
	// Open is how long it stays open after its first trip.
	Open time.Duration
	// MaxOpen bounds how long it stays open after failed probes.
	MaxOpen time.Duration
}

// DefaultBreaker are Convoy's numbers: 70% failures of at least 10
// attempts over 5 minutes, open for 30 s.
var DefaultBreaker = BreakerRules{Window: 5 * time.Minute, MinAttempts: 10, FailureRatio: 0.7,
	Open: 30 * time.Second, MaxOpen: 10 * time.Minute}

// DefaultConcurrency is how many attempts one endpoint may have in
// progress at once, unless the deployment says otherwise.
const DefaultConcurrency = 10

// HoldBackoff is the first wait of a delivery the gate holds back for
// its endpoint's concurrency or rate; it doubles with each hold of the
// same message, up to MaxHoldBackoff, and varies by up to half either way.
const (
	HoldBackoff    = time.Second
	MaxHoldBackoff = time.Minute
)

// Holder is an attempt in progress at an endpoint.
type Holder struct {
	// Until is when its lease ends: past it, it no longer counts.
	Until time.Time
	// Retry says it is a retry, not a delivery's first attempt.
	Retry bool
}

// Tally counts the attempts of one minute, for the breaker.
type Tally struct {
	// Attempts counts the attempts made.
	Attempts int
	// Failures counts those that failed as the breaker counts failures.
	Failures int
}

// Gate is an endpoint's admission state, as stored.
type Gate struct {
	// Holders are the attempts in progress, by delivery id.
	Holders map[string]Holder
	// Begun counts the attempts begun in each second (Unix seconds), for
	// the rate limit.
	Begun map[int64]int
	// Tallies count the attempts of each minute (Unix minutes), for the
	// breaker.
	Tallies map[int64]Tally
	// OpenUntil is when an open breaker lets a probe go; zero while the
	// breaker is closed.
	OpenUntil time.Time
	// Trips counts the breaker's trips since it last closed.
	Trips int
	// Probe is the delivery making the half-open breaker's probe, until
	// ProbeUntil.
	Probe string
	// ProbeUntil is when the probe's lease ends.
	ProbeUntil time.Time
}

// BreakerState names a breaker's state for the API, logs and metrics.
type BreakerState string

// The breaker states.
const (
	// BreakerClosed: attempts go as the gate's limits allow.
	BreakerClosed BreakerState = "closed"
	// BreakerOpenState: attempts wait until OpenUntil.
	BreakerOpenState BreakerState = "open"
	// BreakerHalfOpen: one probe attempt may go; the others wait for its
	// outcome.
	BreakerHalfOpen BreakerState = "half_open"
)

// Breaker is g's breaker state at now.
func (g Gate) Breaker(now time.Time) BreakerState {
	switch {
	case g.OpenUntil.IsZero():
		return BreakerClosed
	case now.Before(g.OpenUntil):
		return BreakerOpenState
	}
	return BreakerHalfOpen
}

// Limits are what an endpoint's gate admits.
type Limits struct {
	// Concurrency is the most attempts in progress at once.
	Concurrency int
	// Rate is the most attempts begun per second, 0 for no limit.
	Rate int
}

// retryShare is how many of limit slots retries may hold: the rest are
// kept for first attempts, so that a backlog of retries cannot starve an
// endpoint's new events (after Hook0, which splits its workers).
func retryShare(limit int) int { return max(1, limit/2) }

// Reasons the gate holds a delivery back; logs and metrics show them.
const (
	HeldConcurrency = "endpoint_concurrency"
	HeldRetryShare  = "endpoint_retry_share"
	HeldRate        = "endpoint_rate_limit"
	HeldBreaker     = "endpoint_breaker_open"
	HeldProbe       = "endpoint_breaker_probing"
	HeldBusy        = "endpoint_gate_busy"
)

// Entry is the write that admits an attempt through its endpoint's gate:
// it takes a slot, counts the attempt in its second, and, when the
// breaker is half-open, makes it the probe. It is conditional on what was
// read: the live holders, the second's count, the breaker's state.
type Entry struct {
	// WebhookID is the endpoint.
	WebhookID string
	// DeliveryID is the holder.
	DeliveryID string
	// Holder is its slot.
	Holder Holder
	// At is when it enters.
	At time.Time
	// Probe says it is the half-open breaker's probe.
	Probe bool
	// Limits are the gate's.
	Limits Limits
	// Expired are holders whose lease ended, which the write removes
	// (they must still be there).
	Expired map[string]Holder
	// Stale are the seconds and minutes no longer needed, which the write
	// removes.
	StaleSeconds, StaleMinutes []int64
	// Expires is when the gate's item may be removed if the endpoint
	// stays idle.
	Expires time.Time
}

// Exit is the write that gives an attempt's slot back and counts its
// outcome for the breaker.
type Exit struct {
	// WebhookID is the endpoint.
	WebhookID string
	// DeliveryID is the holder.
	DeliveryID string
	// Holder is the slot given back.
	Holder Holder
	// At is when the attempt ended.
	At time.Time
	// Attempted says an attempt was made (it is counted for the
	// breaker); false gives the slot back uncounted.
	Attempted bool
	// Failed says it failed as the breaker counts failures.
	Failed bool
	// Probe says it was the probe; its outcome closes the breaker
	// (success) or opens it again (failure).
	Probe bool
	// Trip says this outcome trips the breaker.
	Trip bool
	// OpenUntil and Trips are the breaker's state after this exit: a
	// probe's outcome or a trip changes them.
	OpenUntil time.Time
	// Trips is the breaker's trips after this exit.
	Trips int
}

// Admit applies e to g as a store's conditional entry write does (the
// DynamoDB adapter's Enter writes the same with conditions): it is
// ErrChanged, and g is left as it was, when g no longer admits e (its
// slots, or its retries' share of them, are taken, an expired holder e
// names is gone, the second's count is spent, the breaker's state is not
// the one e was admitted under).
// The in-memory stores (the tests', the scale simulation's) keep their
// gates with it.
func (g *Gate) Admit(e Entry) error {
	live, liveRetries := len(g.Holders), 0
	for id, h := range g.Holders {
		if h.Retry {
			liveRetries++
		}
		if _, ok := e.Expired[id]; ok {
			live--
			if h.Retry {
				liveRetries--
			}
		}
	}
	for id := range e.Expired {
		if _, ok := g.Holders[id]; !ok {
			return ErrChanged
		}
	}
	sec := e.At.Unix()
	switch {
	case live >= e.Limits.Concurrency, e.Holder.Retry && liveRetries >= retryShare(e.Limits.Concurrency),
		e.Limits.Rate > 0 && g.Begun[sec] >= e.Limits.Rate,
		e.Probe && (g.OpenUntil.IsZero() || e.At.Before(g.OpenUntil) || (g.Probe != "" && g.Probe != e.DeliveryID && !g.ProbeUntil.Before(e.At))),
		!e.Probe && !g.OpenUntil.IsZero():
		return ErrChanged
	}
	if g.Holders == nil {
		g.Holders = map[string]Holder{}
	}
	if g.Begun == nil {
		g.Begun = map[int64]int{}
	}
	for id := range e.Expired {
		delete(g.Holders, id)
	}
	for _, s := range e.StaleSeconds {
		delete(g.Begun, s)
	}
	for _, m := range e.StaleMinutes {
		delete(g.Tallies, m)
	}
	g.Holders[e.DeliveryID] = e.Holder
	g.Begun[sec]++
	if e.Probe {
		g.Probe, g.ProbeUntil = e.DeliveryID, e.Holder.Until
	}
	return nil
}

// admission is the gate's decision about one attempt.
type admission struct {
	// enter says the attempt may go, through entry.
	enter bool
	entry Entry
	// wait and reason say how long it is held back, and why.
	wait   time.Duration
	reason string
}

// admit decides whether delivery id's attempt (a retry when retry) may go
// through g at now under lim. deferrals counts the times the delivery's
// message was held back before.
func (g Gate) admit(webhookID, id string, retry bool, now, leaseEnd time.Time, lim Limits, rules BreakerRules, deferrals int) admission {
	switch g.Breaker(now) {
	case BreakerOpenState:
		// Spread the waiting deliveries over the next open period, so that
		// they do not all come back at once.
		return admission{wait: g.OpenUntil.Sub(now) + jitter(rules.openFor(g.Trips)), reason: HeldBreaker}
	case BreakerHalfOpen:
		if g.Probe != "" && g.Probe != id && now.Before(g.ProbeUntil) {
			// The probe usually ends long before its lease (the handler's
			// deadline): look again after a backoff.
			return admission{wait: holdBackoff(deferrals), reason: HeldProbe}
		}
	}
	e := Entry{WebhookID: webhookID, DeliveryID: id, Holder: Holder{Until: leaseEnd, Retry: retry}, At: now,
		Probe: g.Breaker(now) == BreakerHalfOpen, Limits: lim, Expired: map[string]Holder{}}
	live, liveRetries := 0, 0
	for hid, h := range g.Holders {
		switch {
		case !now.Before(h.Until):
			e.Expired[hid] = h
		case hid == id:
			// Its own earlier entry, whose attempt is being taken over: it
			// is replaced.
			e.Expired[hid] = h
		default:
			live++
			if h.Retry {
				liveRetries++
			}
		}
	}
	sec := now.Unix()
	for s := range g.Begun {
		if s < sec {
			e.StaleSeconds = append(e.StaleSeconds, s)
		}
	}
	for m := range g.Tallies {
		if m <= now.Add(-rules.Window).Unix()/60 {
			e.StaleMinutes = append(e.StaleMinutes, m)
		}
	}
	backoff := holdBackoff(deferrals)
	switch {
	case live >= lim.Concurrency:
		return admission{wait: backoff, reason: HeldConcurrency}
	case retry && liveRetries >= retryShare(lim.Concurrency):
		return admission{wait: backoff, reason: HeldRetryShare}
	case lim.Rate > 0 && g.Begun[sec] >= lim.Rate:
		next := time.Unix(sec+1, 0).Sub(now)
		return admission{wait: next + backoff, reason: HeldRate}
	}
	return admission{enter: true, entry: e}
}

// exit is the write that ends an attempt that entered through g as e, at
// now: resp is what it got, nil when no attempt was made after all.
func (g Gate) exit(e Entry, resp *Response, now time.Time, rules BreakerRules) Exit {
	x := Exit{WebhookID: e.WebhookID, DeliveryID: e.DeliveryID, Holder: e.Holder, At: now, Probe: e.Probe,
		Attempted: resp != nil, Trips: g.Trips, OpenUntil: g.OpenUntil}
	if resp == nil {
		return x
	}
	failed := breakerFailure(*resp)
	x.Failed = failed
	switch {
	case e.Probe && failed:
		x.Trips = g.Trips + 1
		x.OpenUntil = now.Add(rules.openFor(x.Trips))
	case e.Probe:
		// A probe that succeeded closes the breaker.
		x.Trips, x.OpenUntil = 0, time.Time{}
	case g.Breaker(now) == BreakerClosed && failed:
		attempts, failures := 1, 1
		for m, t := range g.Tallies {
			if m > now.Add(-rules.Window).Unix()/60 {
				attempts += t.Attempts
				failures += t.Failures
			}
		}
		if attempts >= rules.MinAttempts && float64(failures) >= rules.FailureRatio*float64(attempts) {
			x.Trip, x.Trips = true, 1
			x.OpenUntil = now.Add(rules.openFor(1))
		}
	}
	return x
}

// openFor is how long a breaker stays open after trips trips.
func (r BreakerRules) openFor(trips int) time.Duration {
	d := r.Open
	for i := 1; i < trips && d < r.MaxOpen; i++ {
		d *= 2
	}
	return min(d, r.MaxOpen)
}

// holdBackoff is the wait of a message held back for the deferrals-th
// time before (0 for the first).
func holdBackoff(deferrals int) time.Duration {
	d := HoldBackoff
	for i := 0; i < deferrals && d < MaxHoldBackoff; i++ {
		d *= 2
	}
	d = min(d, MaxHoldBackoff)
	return d/2 + jitter(d)
}

// jitter is a random wait from 0 to d.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d)))
}

// breakerFailure reports whether resp counts as a failure for the
// breaker: the endpoint did not answer, or answered 5xx.
func breakerFailure(resp Response) bool {
	return (resp.Error != "" && resp.Error != ClassRedirect) || resp.Status >= 500
}
