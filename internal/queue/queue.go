// Package queue is the SQS adapter of delivery: it sends delivery
// messages to the delivery queue (at once, or delayed for a parked
// attempt), each in its endpoint's fair-queue group, sets malformed
// events aside on the fan-out's dead-letter queue, and holds a received
// message back after a failure by changing its visibility.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/docproc/webhooks/internal/awserr"
	"github.com/docproc/webhooks/internal/delivery"
)

// Compile-time check that Queue implements the delivery port.
var _ delivery.Queue = (*Queue)(nil)

// SQS limits a batch call to 10 entries and, conservatively, 256 KiB.
const (
	maxBatchEntries = 10
	maxBatchBytes   = 256 << 10
)

// MaxVisibility is the longest visibility SQS allows a received message,
// counted from its receive: asked for later than the receive itself, it
// is refused. The handlers ask for at most worker.MaxErrorDelay.
const MaxVisibility = 12 * time.Hour

// sendTries bounds the tries of the entries SQS declines in a batch.
const sendTries = 4

// ReasonAttribute is the message attribute that says why an event was
// set aside.
const ReasonAttribute = "reason"

// Queue is one SQS queue.
type Queue struct {
	client *sqs.Client
	url    string
}

// New returns the queue at url.
func New(client *sqs.Client, url string) *Queue { return &Queue{client: client, url: url} }

// Send implements delivery.Queue with SendMessageBatch calls of at most 10
// messages and 256 KiB (a larger message goes alone), trying again the
// entries SQS declines for a fault of its own.
func (q *Queue) Send(ctx context.Context, msgs []delivery.Message) error {
	var batch []types.SendMessageBatchRequestEntry
	size := 0
	for i, m := range msgs {
		body, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("encode message %s: %w", m.DeliveryID, err)
		}
		if len(batch) == maxBatchEntries || len(batch) > 0 && size+len(body) > maxBatchBytes {
			if err := q.sendBatch(ctx, batch); err != nil {
				return err
			}
			batch, size = nil, 0
		}
		batch = append(batch, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body)),
			MessageGroupId: aws.String(FairGroup(m))})
		size += len(body)
	}
	if len(batch) == 0 {
		return nil
	}
	return q.sendBatch(ctx, batch)
}

// sendBatch sends one batch, trying again the entries that failed with a
// fault of SQS's (not the sender's).
func (q *Queue) sendBatch(ctx context.Context, batch []types.SendMessageBatchRequestEntry) error {
	op := "sqs SendMessageBatch"
	for try := 1; ; try++ {
		out, err := q.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: batch})
		if err != nil {
			return awserr.Classify(op, err)
		}
		if len(out.Failed) == 0 {
			return nil
		}
		byID := make(map[string]types.SendMessageBatchRequestEntry, len(batch))
		for _, e := range batch {
			byID[aws.ToString(e.Id)] = e
		}
		batch = batch[:0]
		var failures []error
		for _, f := range out.Failed {
			failures = append(failures, fmt.Errorf("entry %s: %s %s", aws.ToString(f.Id), aws.ToString(f.Code), aws.ToString(f.Message)))
			if f.SenderFault {
				return fmt.Errorf("%s: %w", op, errors.Join(failures...))
			}
			batch = append(batch, byID[aws.ToString(f.Id)])
		}
		if try == sendTries {
			return awserr.Unavailable(op, errors.Join(failures...))
		}
		select {
		case <-ctx.Done():
			return awserr.Classify(op, ctx.Err())
		case <-time.After(time.Duration(try*50) * time.Millisecond):
		}
	}
}

// FairGroup is the message group of m for SQS fair queues: its endpoint.
// Once one group holds more than its share of the messages in flight,
// SQS serves the other groups' messages first, so that a slow or busy
// endpoint's backlog does not hold back another endpoint's deliveries;
// an account's healthy endpoints are kept apart from its failing one
// too, which grouping by account would not do.
func FairGroup(m delivery.Message) string { return m.WebhookID }

// SendLater implements delivery.Queue with one SendMessage whose
// DelaySeconds is after, rounded up to whole seconds and at most
// delivery.MaxDelay.
func (q *Queue) SendLater(ctx context.Context, m delivery.Message, after time.Duration) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode message %s: %w", m.DeliveryID, err)
	}
	delay := min(max(after, 0), delivery.MaxDelay)
	_, err = q.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:       aws.String(q.url),
		MessageBody:    aws.String(string(body)),
		DelaySeconds:   int32((delay + time.Second - 1) / time.Second),
		MessageGroupId: aws.String(FairGroup(m)),
	})
	return awserr.Classify("sqs SendMessage delayed "+m.DeliveryID, err)
}

// SetAside sends body, an event that cannot be delivered, to this queue
// (the fan-out's dead-letter queue) with the reason as an attribute, where
// an operator finds it.
func (q *Queue) SetAside(ctx context.Context, body, reason string) error {
	_, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:    aws.String(q.url),
		MessageBody: aws.String(body),
		MessageAttributes: map[string]types.MessageAttributeValue{
			ReasonAttribute: {DataType: aws.String("String"), StringValue: aws.String(reason)},
		},
	})
	return awserr.Classify("sqs SendMessage set aside", err)
}

// Delay holds the received message with receipt back for d, rounded to
// the second and at most MaxVisibility: it becomes visible again once
// that has passed. The handlers use it only to back off after a
// dependency failed.
func (q *Queue) Delay(ctx context.Context, receipt string, d time.Duration) error {
	_, err := q.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(q.url),
		ReceiptHandle:     aws.String(receipt),
		VisibilityTimeout: int32(min(d, MaxVisibility).Round(time.Second) / time.Second),
	})
	return awserr.Classify("sqs ChangeMessageVisibility", err)
}
