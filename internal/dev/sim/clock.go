package sim

import (
	"container/heap"
	"context"
	"iter"
	"sync"
	"time"
)

// The simulation's clock is a discrete-event loop: whatever the simulated
// system does is an event at a virtual time, and the loop runs the events
// in time order (two at the same time in the order they were scheduled),
// so a run costs the CPU time of its work, not the time it simulates.
//
// A delivery step is one call of the real code (Deliverer.Deliver) that
// waits on DynamoDB, SQS and the endpoint. It runs as a proc: a coroutine
// (iter.Pull) that pauses at each of those waits and that the loop resumes
// when the wait's virtual time has passed. So each call a step makes
// happens at its own virtual time, between the calls of every other step,
// as on AWS: an attempt that waits 10 s on a black-holed endpoint holds its
// gate slot for those 10 s, and another step that reads the gate meanwhile
// sees it held. Only one proc or event runs at a time.

// loop is the virtual clock and the events due on it.
type loop struct {
	start time.Time
	// mu guards the events: the sweeper's goroutines (delivery.Sweeper
	// queues messages concurrently) schedule events too.
	mu      sync.Mutex
	elapsed time.Duration // since start
	seq     uint64
	events  events
}

// newLoop starts a clock at start.
func newLoop(start time.Time) *loop { return &loop{start: start} }

// now is the virtual time.
func (l *loop) now() time.Time { return l.start.Add(l.elapsed) }

// at schedules run at t (now if t is past).
func (l *loop) at(t time.Time, run func()) { l.after(t.Sub(l.now()), run) }

// after schedules run d from now.
func (l *loop) after(d time.Duration, run func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	heap.Push(&l.events, event{at: l.elapsed + max(d, 0), seq: l.seq, run: run})
}

// runWhile runs the events in order while there are some and more says
// to go on, given the time of the next one.
func (l *loop) runWhile(more func(next time.Time) bool) {
	for {
		l.mu.Lock()
		if len(l.events) == 0 || !more(l.start.Add(l.events[0].at)) {
			l.mu.Unlock()
			return
		}
		e := heap.Pop(&l.events).(event)
		l.elapsed = e.at
		l.mu.Unlock()
		e.run()
	}
}

// event is something that happens at a virtual time.
type event struct {
	at  time.Duration // since the loop's start
	seq uint64
	run func()
}

// events is a heap of events, earliest first.
type events []event

func (h events) Len() int { return len(h) }
func (h events) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h events) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *events) Push(x any)   { *h = append(*h, x.(event)) }
func (h *events) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// proc is an activity that takes virtual time: a delivery step.
type proc struct {
	yield func(time.Duration) bool
}

// spawn starts body as a proc now; done runs, as an event, once body has
// returned.
func (l *loop) spawn(body func(p *proc), done func()) {
	p := &proc{}
	next, _ := iter.Pull(func(yield func(time.Duration) bool) {
		p.yield = yield
		body(p)
	})
	var resume func()
	resume = func() {
		if d, more := next(); more {
			l.after(d, resume)
			return
		}
		done()
	}
	resume()
}

// sleep lets d of virtual time pass for p; other events run meanwhile.
func (p *proc) sleep(d time.Duration) {
	if d > 0 {
		p.yield(d)
	}
}

// procKey is the context key of the step a call is made for.
type procKey struct{}

// step is what the simulated ports know of the call they serve: the proc
// whose time the call takes, and the message being handled.
type step struct {
	proc *proc
	msg  *message
}

// withStep returns ctx for the calls of s.
func withStep(ctx context.Context, s *step) context.Context {
	return context.WithValue(ctx, procKey{}, s)
}

// stepOf is the step ctx serves, nil for a call made outside one (the
// sweeper's, which takes no virtual time).
func stepOf(ctx context.Context) *step {
	s, _ := ctx.Value(procKey{}).(*step)
	return s
}

// wait lets d pass for the step ctx serves: a call to AWS or an endpoint
// takes its time, and its effect is that of its end.
func wait(ctx context.Context, d time.Duration) {
	if s := stepOf(ctx); s != nil {
		s.proc.sleep(d)
	}
}

// deadlineCtx is a handler's context whose deadline is virtual: the
// Deliverer takes an attempt's lease from it, and the sender its time
// limit. It is never cancelled: virtual time does not run out by itself.
type deadlineCtx struct {
	context.Context
	deadline time.Time
}

// Deadline returns the virtual deadline.
func (c deadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }
