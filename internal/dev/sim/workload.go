package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// workload publishes the events: a steady stream, each event to one
// endpoint drawn at random (a Poisson process), and one account's burst,
// all at once, spread evenly over its endpoints. An event's messages go
// on the delivery queue when it is published: the fan-out, and the time
// it takes, are not simulated.
type workload struct {
	loop    *loop
	rng     *rand.Rand
	eps     []*endpoint
	queue   *sqsQueue
	payload []byte
	dwell   *Dwell
	// published runs after each publish (the pollers' chance to receive).
	published func()
	// events counts the events published.
	events int
}

// steady publishes rate events a second until end.
func (w *workload) steady(rate float64, end time.Time) {
	if rate <= 0 || !w.loop.now().Before(end) {
		return
	}
	_ = w.queue.Send(context.Background(), []delivery.Message{w.message(w.eps[w.rng.IntN(len(w.eps))], false)})
	w.published()
	w.loop.after(time.Duration(w.rng.ExpFloat64()/rate*float64(time.Second)), func() { w.steady(rate, end) })
}

// burst publishes n events of the burst account now.
func (w *workload) burst(n int) {
	msgs := make([]delivery.Message, n)
	for i := range msgs {
		msgs[i] = w.message(w.eps[i%accountEndpoints], true)
	}
	_ = w.queue.Send(context.Background(), msgs)
	w.published()
}

// message is the delivery of a new event to ep; burst says the event is
// one of the burst's.
func (w *workload) message(ep *endpoint, burst bool) delivery.Message {
	w.events++
	at := w.loop.now()
	id := fmt.Sprintf("evt_%09d", w.events)
	w.dwell.published(ep, at, burst)
	return delivery.Message{DeliveryID: delivery.DeliveryID(id, ep.hook.ID, at), EventID: id, EventType: webhook.DocumentUploaded,
		EventTime: at, Account: ep.hook.Owner.Account, Mode: tenant.Live, WebhookID: ep.hook.ID, Payload: w.payload}
}
