package delivery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/docproc/webhooks/internal/tenant"
)

// SweepPage is how many parked deliveries a sweep reads from a shard at a
// time.
const SweepPage = 100

// sweepConcurrency bounds the shards one sweep reads at once, and the
// messages it queues at once.
const sweepConcurrency = 4

// Sweeper queues again the parked deliveries that are due (Parked's
// ResendAt): those whose wait is longer than the queue can hold, once
// less than SweepLead remains, and those whose delayed message was lost.
// A scheduled function runs it every minute.
type Sweeper struct {
	// Parking finds the parked deliveries.
	Parking Parking
	// Queue takes their messages.
	Queue Queue
	// Now returns the time; time.Now when nil.
	Now func() time.Time
}

// Swept is what a sweep did.
type Swept struct {
	// Queued counts the messages queued.
	Queued int
	// Expired counts the parked deliveries whose event is no longer kept:
	// they can never be sent, and leave the parking.
	Expired int
}

// Sweep queues the message of every parked delivery due now, each
// delayed until its next attempt is due, then moves its ResendAt to
// ResendSlack after that (in case the message is lost); a delivery whose
// event is no longer kept leaves the parking instead. It queues before
// it moves ResendAt, so that a failure between the two queues the message
// twice (the deliverer makes one attempt of the two) and never loses it.
// An error leaves what it did not reach to the next sweep.
func (s *Sweeper) Sweep(ctx context.Context) (Swept, error) {
	now := time.Now().UTC()
	if s.Now != nil {
		now = s.Now().UTC()
	}
	var (
		mu   sync.Mutex
		out  Swept
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, sweepConcurrency)
	)
	for shard := range ParkingShards {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			got, err := s.shard(ctx, shard, now)
			mu.Lock()
			defer mu.Unlock()
			out.Queued += got.Queued
			out.Expired += got.Expired
			if err != nil {
				errs = append(errs, fmt.Errorf("parking shard %d: %w", shard, err))
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// shard sweeps one shard, page by page, until nothing due is left.
func (s *Sweeper) shard(ctx context.Context, shard int, now time.Time) (Swept, error) {
	var out Swept
	for {
		due, err := s.Parking.Due(ctx, shard, now, SweepPage)
		if err != nil {
			return out, err
		}
		got, err := s.requeue(ctx, due, now)
		out.Queued += got.Queued
		out.Expired += got.Expired
		if err != nil || len(due) < SweepPage {
			return out, err
		}
	}
}

// requeue queues the messages of due, with their payloads, and moves
// their ResendAt on.
func (s *Sweeper) requeue(ctx context.Context, due []Parked, now time.Time) (Swept, error) {
	byOwner := map[tenant.Tenant][]string{}
	for _, p := range due {
		byOwner[p.Message.Owner()] = append(byOwner[p.Message.Owner()], p.Message.EventID)
	}
	payloads := map[tenant.Tenant]map[string][]byte{}
	for owner, ids := range byOwner {
		got, err := s.Parking.Payloads(ctx, owner, ids)
		if err != nil {
			return Swept{}, fmt.Errorf("read the payloads of %s: %w", owner, err)
		}
		payloads[owner] = got
	}
	var (
		mu   sync.Mutex
		out  Swept
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, sweepConcurrency)
	)
	for _, p := range due {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			expired, err := s.one(ctx, p, payloads[p.Message.Owner()], now)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, err)
			case expired:
				out.Expired++
			default:
				out.Queued++
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// one queues p's message, delayed until its next attempt is due, and
// moves its ResendAt on; a delivery whose event is no longer kept leaves
// the parking (expired).
func (s *Sweeper) one(ctx context.Context, p Parked, payloads map[string][]byte, now time.Time) (expired bool, err error) {
	payload, ok := payloads[p.Message.EventID]
	if !ok {
		if err := s.Parking.Requeued(ctx, p, time.Time{}); err != nil {
			return false, fmt.Errorf("unpark %s, whose event expired: %w", p.Message.DeliveryID, err)
		}
		return true, nil
	}
	m := p.Message
	m.Payload = payload
	if err := s.Queue.SendLater(ctx, m, min(max(p.NextAttemptAt.Sub(now), 0), MaxDelay)); err != nil {
		return false, fmt.Errorf("queue %s: %w", m.DeliveryID, err)
	}
	due := p.NextAttemptAt
	if due.Before(now) {
		due = now
	}
	if err := s.Parking.Requeued(ctx, p, due.Add(ResendSlack)); err != nil {
		return false, fmt.Errorf("move the resend of %s on: %w", m.DeliveryID, err)
	}
	return false, nil
}
