package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// Class is how an endpoint answers.
type Class int

// The classes of endpoint, in the shares the workload gives them.
const (
	// Healthy answers 2xx after 50 to 200 ms.
	Healthy Class = iota
	// Slow answers 2xx after 5 s.
	Slow
	// BlackHoled never answers: every attempt runs out of time.
	BlackHoled
	// Failing answers 500 after 50 to 200 ms.
	Failing
)

// Shares of the endpoints of each class but Healthy (the issue's
// workload): 1 % black-holed, 1 % slow, 0.1 % failing.
const (
	blackHoledShare = 0.01
	slowShare       = 0.01
	failingShare    = 0.001
)

// Answer times.
const (
	fastMin    = 50 * time.Millisecond
	fastSpread = 150 * time.Millisecond
	slowAnswer = 5 * time.Second
)

// accountEndpoints is how many endpoints each account has; the burst
// account's are its first ones, all healthy.
const accountEndpoints = 10

// String names the class.
func (c Class) String() string {
	return [...]string{"healthy", "slow", "black-holed", "failing"}[c]
}

// endpoint is one simulated endpoint and its webhook.
type endpoint struct {
	hook  *webhook.Webhook
	class Class
	// burst says it belongs to the account that publishes the burst.
	burst bool
}

// newEndpoints makes n endpoints in accounts of accountEndpoints, the
// first account's all healthy (the burst's), and the classes of the
// others drawn by rng.
func newEndpoints(n int, rng *rand.Rand) []*endpoint {
	eps := make([]*endpoint, n)
	for i := range eps {
		account := fmt.Sprintf("acct_%05d", i/accountEndpoints)
		eps[i] = &endpoint{burst: i < accountEndpoints, hook: &webhook.Webhook{
			ID:    fmt.Sprintf("wh_%06d", i),
			Owner: tenant.Tenant{Account: account, Mode: tenant.Live},
			Settings: webhook.Settings{URL: fmt.Sprintf("https://ep%06d.example/hooks", i),
				Events: []webhook.EventType{webhook.DocumentUploaded}, IsActive: true, RetryEnabled: true,
				MaxRetries: webhook.DefaultMaxRetries},
			SecretRef: fmt.Sprintf("webhooks/sim/wh_%06d", i),
		}}
	}
	others := eps[min(accountEndpoints, n):]
	rng.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
	next := 0
	for _, c := range []struct {
		class Class
		share float64
	}{{BlackHoled, blackHoledShare}, {Slow, slowShare}, {Failing, failingShare}} {
		k := int(c.share*float64(n) + 0.5)
		for _, ep := range others[next:min(next+k, len(others))] {
			ep.class = c.class
		}
		next += k
	}
	return eps
}

// sender is the endpoints as the Deliverer reaches them. It implements
// delivery.Sender: an attempt takes its endpoint's answer time, or the
// attempt's time limit (DELIVERY_TIMEOUT, or less when the handler's
// deadline is nearer, as in the real sender).
type sender struct {
	rng     *rand.Rand
	timeout time.Duration
	now     func() time.Time
	byURL   map[string]*endpoint
	dwell   *Dwell
}

// Compile-time check that the simulated endpoints are a delivery.Sender.
var _ delivery.Sender = (*sender)(nil)

// Send makes an attempt. A 2xx answer records the event's dwell time, from
// its publish to the POST's arrival.
func (s *sender) Send(ctx context.Context, req delivery.Request) delivery.Response {
	ep := s.byURL[req.URL]
	limit := s.timeout
	if deadline, ok := ctx.Deadline(); ok {
		limit = max(0, min(limit, deadline.Sub(s.now())))
	}
	resp := delivery.Response{Status: http.StatusOK, Duration: fastMin + time.Duration(s.rng.Int64N(int64(fastSpread)))}
	switch ep.class {
	case Slow:
		resp.Duration = slowAnswer
	case Failing:
		resp.Status = http.StatusInternalServerError
	case BlackHoled:
		resp.Duration = limit + time.Nanosecond
	}
	if resp.Duration > limit {
		resp = delivery.Response{Error: delivery.ClassTimeout, Duration: limit}
	}
	if delivery.Judge(resp) == delivery.VerdictDelivered {
		if st := stepOf(ctx); st != nil {
			s.dwell.add(ep, st.msg.body.EventTime, s.now())
		}
	}
	wait(ctx, resp.Duration)
	return resp
}
