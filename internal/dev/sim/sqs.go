package sim

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/queue"
)

// The delivery queue as SQS keeps it: a standard queue whose messages carry
// their endpoint as fair-queue group (queue.FairGroup). A message is
// delayed (DelaySeconds, whole seconds up to 15 minutes, as the SQS
// adapter rounds them), then visible, then in flight from its receive
// until it is deleted or, after a failed step, until the visibility the
// handler gave it ends, when it is visible again.
//
// Receives take up to 10 visible messages, oldest first, as fair queues
// do (SQS's "How Amazon SQS fair queues work"): a group is a noisy
// neighbour while it holds more than 10 % of the messages in flight and
// at least 30 of them, or more than 10 % of the consumers' recent
// processing time (here: the time from receive to delete, decayed with a
// one-minute time constant); the messages of quiet groups are received
// first, and noisy groups' only when no quiet one waits, the noisy group
// with the fewest in flight first. The thresholds are SQS's published
// ones; SQS calls them approximate, and it keeps a group noisy until its
// backlog drains or it sends nothing for 5 minutes, which this model
// leaves out (it judges each receive afresh). Past about 120,000 messages
// in flight SQS returns nothing to a long poll (OverLimit to a short
// one); the model counts such receives.

// Fair-queue thresholds, from SQS's developer guide.
const (
	noisyInFlightShare = 0.10
	noisyInFlightMin   = 30
	noisyTimeShare     = 0.10
	// busyDecay is the time constant over which processing time counts
	// as recent (SQS does not publish one).
	busyDecay = time.Minute
)

// MaxInFlight is the most messages a standard queue holds in flight.
const MaxInFlight = 120_000

// MaxReceive is the most messages one receive returns.
const MaxReceive = 10

// sqsQueue is the simulated delivery queue. It implements delivery.Queue.
type sqsQueue struct {
	loop *loop
	lat  Latencies
	// onVisible runs when a message becomes visible (the pollers'
	// chance to receive it).
	onVisible func()

	mu       sync.Mutex
	seq      uint64
	groups   map[string]*group
	ready    readyGroups // groups with visible messages
	visible  int
	inFlight int
	delayed  int
	busy     decayed // all groups' recent processing time
	calls    *Calls
	stats    *QueueStats
}

// Compile-time check that the simulated queue is a delivery queue.
var _ delivery.Queue = (*sqsQueue)(nil)

// newQueue returns an empty queue on l that counts into calls and stats.
func newQueue(l *loop, lat Latencies, calls *Calls, stats *QueueStats) *sqsQueue {
	return &sqsQueue{loop: l, lat: lat, groups: map[string]*group{}, calls: calls, stats: stats, onVisible: func() {}}
}

// message is one SQS message.
type message struct {
	id         string
	body       delivery.Message
	group      *group
	order      uint64 // when it became visible, for oldest first
	visibleAt  time.Time
	receives   int
	receivedAt time.Time
}

// group is a fair-queue message group: one endpoint's messages.
type group struct {
	id       string
	fifo     []*message // visible, oldest first
	inFlight int
	busy     decayed
	index    int // in the ready heap; -1 when not there
}

// decayed is a sum of durations whose past terms fade with time constant
// busyDecay.
type decayed struct {
	sum float64 // seconds, as of at
	at  time.Time
}

// add adds d at now.
func (x *decayed) add(d time.Duration, now time.Time) {
	x.sum = x.value(now) + d.Seconds()
	x.at = now
}

// value is the sum as of now.
func (x decayed) value(now time.Time) float64 {
	if x.sum == 0 {
		return 0
	}
	return x.sum * math.Exp(-now.Sub(x.at).Seconds()/busyDecay.Seconds())
}

// Send queues msgs at once, as the fan-out does (SendMessageBatch, up to
// 10 a call). It takes no virtual time: the fan-out is not simulated.
func (q *sqsQueue) Send(_ context.Context, msgs []delivery.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls.SQS.SendMessageBatch += (len(msgs) + MaxReceive - 1) / MaxReceive
	for _, m := range msgs {
		q.add(m, 0)
	}
	return nil
}

// SendLater queues m delayed by after, rounded up to whole seconds as the
// SQS adapter does; one SendMessage, which takes its latency.
func (q *sqsQueue) SendLater(ctx context.Context, m delivery.Message, after time.Duration) error {
	if after < 0 || after > delivery.MaxDelay {
		return fmt.Errorf("sqs SendMessage: DelaySeconds for %s out of range", after)
	}
	wait(ctx, q.lat.SQS)
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls.SQS.SendMessage++
	q.add(m, (after+time.Second-1)/time.Second*time.Second)
	return nil
}

// add queues m, delayed by delay. q.mu is held.
func (q *sqsQueue) add(m delivery.Message, delay time.Duration) {
	q.seq++
	id := queue.FairGroup(m)
	g := q.groups[id]
	if g == nil {
		g = &group{id: id, index: -1}
		q.groups[id] = g
	}
	msg := &message{id: "sqs-" + strconv.FormatUint(q.seq, 10), body: m, group: g, visibleAt: q.loop.now().Add(delay)}
	if delay == 0 {
		q.show(msg)
		return
	}
	q.delayed++
	q.stats.Delayed = max(q.stats.Delayed, q.delayed)
	q.loop.at(msg.visibleAt, func() {
		q.mu.Lock()
		q.delayed--
		q.show(msg)
		q.mu.Unlock()
		q.onVisible()
	})
}

// show makes msg visible. q.mu is held.
func (q *sqsQueue) show(msg *message) {
	q.seq++
	msg.order = q.seq
	g := msg.group
	g.fifo = append(g.fifo, msg)
	q.visible++
	q.stats.Visible = max(q.stats.Visible, q.visible)
	if g.index < 0 {
		heap.Push(&q.ready, g)
	}
}

// Visible counts the messages that may be received now.
func (q *sqsQueue) Visible() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.visible
}

// receive takes up to n visible messages (one ReceiveMessage), quiet
// groups' first (see the top of this file). It returns none while the
// queue is at MaxInFlight.
func (q *sqsQueue) receive(n int) []*message {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls.SQS.ReceiveMessage++
	if q.inFlight >= MaxInFlight {
		q.calls.SQS.OverLimit++
		return nil
	}
	n = min(n, MaxInFlight-q.inFlight)
	var out []*message
	var noisy []*group
	for len(out) < n && len(q.ready) > 0 {
		g := q.ready[0]
		if q.noisy(g) {
			heap.Pop(&q.ready)
			noisy = append(noisy, g)
			continue
		}
		out = append(out, q.take(g))
	}
	for len(out) < n && len(noisy) > 0 {
		slices.SortStableFunc(noisy, func(a, b *group) int {
			return cmp.Or(cmp.Compare(a.inFlight, b.inFlight), cmp.Compare(a.fifo[0].order, b.fifo[0].order))
		})
		out = append(out, q.take(noisy[0]))
		if len(noisy[0].fifo) == 0 {
			noisy = noisy[1:]
		}
	}
	for _, g := range noisy {
		heap.Push(&q.ready, g)
	}
	if len(noisy) > 0 {
		q.stats.NoisyPassed++
	}
	return out
}

// noisy reports whether g is a noisy neighbour now. q.mu is held.
func (q *sqsQueue) noisy(g *group) bool {
	if g.inFlight >= noisyInFlightMin && float64(g.inFlight) > noisyInFlightShare*float64(q.inFlight) {
		return true
	}
	total := q.busy.value(q.loop.now())
	return total > 0 && g.busy.value(q.loop.now()) > noisyTimeShare*total
}

// take receives g's oldest visible message. q.mu is held.
func (q *sqsQueue) take(g *group) *message {
	msg := g.fifo[0]
	g.fifo[0] = nil
	g.fifo = g.fifo[1:]
	switch {
	case g.index < 0:
	case len(g.fifo) == 0:
		heap.Remove(&q.ready, g.index)
	default:
		heap.Fix(&q.ready, g.index)
	}
	msg.receives++
	msg.receivedAt = q.loop.now()
	g.inFlight++
	q.visible--
	q.inFlight++
	q.stats.InFlight = max(q.stats.InFlight, q.inFlight)
	return msg
}

// done ends msg's time in flight. q.mu is held.
func (q *sqsQueue) done(msg *message) {
	took := q.loop.now().Sub(msg.receivedAt)
	msg.group.inFlight--
	msg.group.busy.add(took, q.loop.now())
	q.busy.add(took, q.loop.now())
	q.inFlight--
}

// delete removes msgs, received and handled (one DeleteMessageBatch).
func (q *sqsQueue) delete(msgs []*message) {
	if len(msgs) == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls.SQS.DeleteMessageBatch++
	for _, msg := range msgs {
		q.done(msg)
	}
}

// delay makes msg, in flight, visible again after d
// (ChangeMessageVisibility), which takes its latency.
func (q *sqsQueue) delay(ctx context.Context, msg *message, d time.Duration) {
	wait(ctx, q.lat.SQS)
	q.mu.Lock()
	q.calls.SQS.ChangeMessageVisibility++
	q.mu.Unlock()
	q.loop.after(d, func() {
		q.mu.Lock()
		q.done(msg)
		msg.visibleAt = q.loop.now()
		q.show(msg)
		q.mu.Unlock()
		q.onVisible()
	})
}

// readyGroups is a heap of groups by their oldest visible message.
type readyGroups []*group

func (h readyGroups) Len() int           { return len(h) }
func (h readyGroups) Less(i, j int) bool { return h[i].fifo[0].order < h[j].fifo[0].order }
func (h readyGroups) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *readyGroups) Push(x any) {
	g := x.(*group)
	g.index = len(*h)
	*h = append(*h, g)
}
func (h *readyGroups) Pop() any {
	old := *h
	g := old[len(old)-1]
	old[len(old)-1] = nil
	g.index = -1
	*h = old[:len(old)-1]
	return g
}
