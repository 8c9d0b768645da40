package sim

import (
	"math"
	"slices"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
)

// What a run counts, besides the calls (Calls).

// Population is a set of endpoints whose dwell times are reported
// together.
type Population int

// The populations reported.
const (
	// Bystanders are the healthy endpoints of every account but the
	// burst's.
	Bystanders Population = iota
	// BurstAccount are the burst account's endpoints (all healthy).
	BurstAccount
	// SlowEndpoints are the endpoints that answer after 5 s.
	SlowEndpoints
	populations
)

// String names the population.
func (p Population) String() string {
	return [...]string{"healthy, other accounts", "healthy, burst account", "slow (5 s)"}[p]
}

// populationOf is ep's population, and false for an endpoint whose
// events are never delivered (black-holed, failing).
func populationOf(ep *endpoint) (Population, bool) {
	switch {
	case ep.burst:
		return BurstAccount, true
	case ep.class == Healthy:
		return Bystanders, true
	case ep.class == Slow:
		return SlowEndpoints, true
	}
	return 0, false
}

// Phase is a part of a run, by when an event was published.
type Phase int

// The phases.
const (
	// WarmUp is the first WarmUp of a run: the breakers of dead
	// endpoints have not tripped yet, and the instances have no signing
	// keys cached.
	WarmUp Phase = iota
	// Steady is from the end of the warm-up to the burst.
	Steady
	// FromBurst is the burst and what is published after it.
	FromBurst
	phases
)

// WarmUpTime is how long the warm-up lasts: long enough for a dead
// endpoint's breaker to trip (10 attempts, at 0.1 events a second and a
// retry after 5 s each).
const WarmUpTime = 2 * time.Minute

// String names the phase.
func (p Phase) String() string {
	return [...]string{"warm-up (first 2 min)", "steady (2 min to the burst)", "from the burst on"}[p]
}

// Dwell keeps, for each population and phase, the events published and
// the dwell times of those delivered: from the publish to the arrival of
// the POST that the endpoint answered 2xx.
type Dwell struct {
	// Start and BurstAt are when the run began and the burst was
	// published.
	Start, BurstAt time.Time
	Published      [populations][phases]int
	Times          [populations][phases][]time.Duration
	// BurstDrained is how long after its publish the burst's last event
	// was delivered (0 until all were).
	BurstDrained time.Duration
	// burstLeft counts the burst's events not yet delivered.
	burstLeft int
}

// phaseOf is the phase of an event published at t.
func (d *Dwell) phaseOf(t time.Time) Phase {
	switch {
	case !t.Before(d.BurstAt):
		return FromBurst
	case t.Before(d.Start.Add(WarmUpTime)):
		return WarmUp
	}
	return Steady
}

// published counts an event published to ep at t; burst says it is one
// of the burst's.
func (d *Dwell) published(ep *endpoint, t time.Time, burst bool) {
	if p, ok := populationOf(ep); ok {
		d.Published[p][d.phaseOf(t)]++
	}
	if burst {
		d.burstLeft++
	}
}

// add records the delivery to ep at now of an event published at t.
func (d *Dwell) add(ep *endpoint, t, now time.Time) {
	if p, ok := populationOf(ep); ok {
		d.Times[p][d.phaseOf(t)] = append(d.Times[p][d.phaseOf(t)], now.Sub(t))
	}
	if ep.burst && t.Equal(d.BurstAt) {
		if d.burstLeft--; d.burstLeft == 0 {
			d.BurstDrained = now.Sub(t)
		}
	}
}

// Delivered is the share of p's events of phase ph that were delivered.
func (d *Dwell) Delivered(p Population, ph Phase) float64 {
	return float64(len(d.Times[p][ph])) / float64(max(1, d.Published[p][ph]))
}

// Quantile is the q-quantile of the dwell times of p's events of phase
// ph, over every one published; false when fewer than that share were
// delivered (the quantile is beyond the run).
func (d *Dwell) Quantile(p Population, ph Phase, q float64) (time.Duration, bool) {
	n := d.Published[p][ph]
	k := int(math.Ceil(q * float64(n)))
	if n == 0 || k > len(d.Times[p][ph]) {
		return 0, false
	}
	slices.Sort(d.Times[p][ph])
	return d.Times[p][ph][max(k, 1)-1], true
}

// Steps counts the delivery steps by what they came to.
type Steps struct {
	// Outcomes counts each Step.Outcome; failed steps (an error: the
	// message comes back) are under "error".
	Outcomes map[string]int
	// Held counts the steps the gate held back, by reason.
	Held map[string]int
	// Attempts counts the POSTs made, Timeouts those that ran out of
	// time.
	Attempts, Timeouts int
	// Delivered counts the deliveries made.
	Delivered int
}

// count adds a step.
func (s *Steps) count(st delivery.Step, err error) {
	if s.Outcomes == nil {
		s.Outcomes, s.Held = map[string]int{}, map[string]int{}
	}
	switch {
	case err != nil:
		s.Outcomes["error"]++
	default:
		s.Outcomes[st.Outcome]++
	}
	if st.Outcome == delivery.OutcomeHeld {
		s.Held[st.Reason]++
	}
	if st.Attempt != nil {
		s.Attempts++
		if st.Attempt.Response.Error == delivery.ClassTimeout {
			s.Timeouts++
		}
	}
	if st.Outcome == delivery.OutcomeDelivered {
		s.Delivered++
	}
}

// QueueStats are what the queue saw: the most messages it held in each
// state at once, and how often its fair queueing passed a noisy group
// over.
type QueueStats struct {
	// InFlight: received and not yet deleted (or, after a failed step,
	// whose visibility has not ended).
	InFlight int
	// Visible: waiting to be received.
	Visible int
	// Delayed: sent with a delay that has not ended.
	Delayed int
	// NoisyPassed counts the receives that passed a noisy group's
	// messages over (once a receive, whichever groups it passed).
	NoisyPassed int
}
