package delivery

import (
	"hash/fnv"
	"time"
)

// A delivery that waits for its next attempt holds nothing in flight: the
// message of the attempt that failed is finished with, and the next one is
// parked. A wait of up to MaxDelay is a delayed message (SQS holds it, not
// in flight); a longer one is kept in the store by its ResendAt, where the
// Sweeper finds it and queues it as a delayed message once less than
// SweepLead remains. Every pending delivery has a ResendAt, so that a
// message lost after its delivery was recorded (its delayed send failed
// and so did the receipt's return to the queue) is queued again.

// MaxDelay is the longest delay of a queued message (SQS DelaySeconds).
const MaxDelay = 15 * time.Minute

// SweepLead is how long before a long wait ends the Sweeper queues the
// delivery's message, delayed by what remains: more than the time between
// two sweeps (a minute), so that the attempt is made on time.
const SweepLead = 5 * time.Minute

// ResendSlack is how long after its next attempt was due a delivery whose
// message was queued (delayed) is queued again from the store, in case
// that message was lost. Longer than a busy queue's backlog, so that a
// backlog does not multiply itself.
const ResendSlack = time.Hour

// ParkingShards is how many partitions parked deliveries spread over
// (Parking): each holds 1,000 writes a second in DynamoDB.
const ParkingShards = 16

// ParkingShard is the shard that delivery id's ResendAt is kept in.
func ParkingShard(deliveryID string) int {
	h := fnv.New32a()
	h.Write([]byte(deliveryID))
	return int(h.Sum32() % ParkingShards)
}

// resendAt is when the store queues again the message of a delivery
// whose next attempt is due at next, decided at now: SweepLead before a
// wait the queue cannot hold, else ResendSlack after its delayed message
// was due.
func resendAt(now, next time.Time) time.Time {
	if next.Sub(now) > MaxDelay {
		return next.Add(-SweepLead)
	}
	return next.Add(ResendSlack)
}

// Parked is a pending delivery as the store keeps it for its next
// attempt: its message without the payload, and when it is due.
type Parked struct {
	// Message is the delivery's message, with its claim; Payload is nil.
	Message Message
	// Attempts counts the attempts recorded.
	Attempts int
	// NextAttemptAt is when the next attempt is due.
	NextAttemptAt time.Time
	// ResendAt is when the message must be queued again.
	ResendAt time.Time
}
