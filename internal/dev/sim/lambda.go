package sim

import (
	"context"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/worker"
)

// The delivery function as Lambda runs it from the queue: at most
// Instances instances at once (the event source mapping's
// MaximumConcurrency, DeliveryMaxConcurrency in template.yaml), each
// handed a batch of up to 10 messages as soon as it is free and messages
// are visible (no batching window). An instance handles its batch's
// messages at once, as worker.DeliveryHandler.Handle does, and is busy until the
// last one is done, or until it has spent the batch's CPU, whichever is
// later; then the messages handled are deleted in one call. Each instance
// has its own Deliverer, so its own cache of signing keys, as a warm
// Lambda instance has. Cold starts are not modelled.

// FunctionTimeout is the delivery function's Timeout (template.yaml):
// each batch's deadline, from which the Deliverer takes its attempts'
// leases.
const FunctionTimeout = 60 * time.Second

// function is the delivery function and its instances.
type function struct {
	loop  *loop
	queue *sqsQueue
	cpu   time.Duration
	idle  []*delivery.Deliverer
	// open says the pollers receive; running counts the batches under way.
	open    bool
	running int
	steps   *Steps
	calls   *Calls
}

// poll hands visible messages to idle instances, a batch each.
func (f *function) poll() {
	for f.open && len(f.idle) > 0 && f.queue.Visible() > 0 {
		msgs := f.queue.receive(MaxReceive)
		if len(msgs) == 0 {
			return
		}
		d := f.idle[len(f.idle)-1]
		f.idle = f.idle[:len(f.idle)-1]
		f.run(d, msgs)
	}
}

// run handles a batch on the instance whose Deliverer is d.
func (f *function) run(d *delivery.Deliverer, msgs []*message) {
	f.running++
	start := f.loop.now()
	deadline := start.Add(FunctionTimeout)
	handled := make([]*message, 0, len(msgs))
	left := len(msgs)
	for _, msg := range msgs {
		var ok bool
		f.loop.spawn(func(p *proc) { ok = f.handle(p, d, msg, deadline) }, func() {
			if ok {
				handled = append(handled, msg)
			}
			if left--; left > 0 {
				return
			}
			took := max(f.loop.now().Sub(start), f.cpu*time.Duration(len(msgs)))
			f.loop.after(took-f.loop.now().Sub(start), func() {
				f.queue.delete(handled)
				f.calls.Lambda.Invocations++
				f.calls.Lambda.GBSeconds += deliveryGB * billed(took).Seconds()
				f.running--
				f.idle = append(f.idle, d)
				f.poll()
			})
		})
	}
}

// handle makes msg's step as worker.DeliveryHandler's handler does: a step that
// fails (nothing was decided) makes the message visible again after
// worker.ErrorDelay for its receive count; any other is done with. It
// reports whether the message is to be deleted.
func (f *function) handle(p *proc, d *delivery.Deliverer, msg *message, deadline time.Time) bool {
	ctx := withStep(deadlineCtx{Context: context.Background(), deadline: deadline}, &step{proc: p, msg: msg})
	st, err := d.Deliver(ctx, msg.body, msg.id)
	f.steps.count(st, err)
	if err != nil {
		f.queue.delay(ctx, msg, worker.ErrorDelay(worker.DefaultErrorDelay, msg.receives))
		return false
	}
	return true
}

// billed is d as Lambda bills it: rounded up to the millisecond.
func billed(d time.Duration) time.Duration {
	return (d + time.Millisecond - 1).Truncate(time.Millisecond)
}
