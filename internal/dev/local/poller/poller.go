// Package poller stands in, on one machine, for Lambda's SQS event source
// mapping: it receives batches from a queue, hands each to a handler as
// the events.SQSEvent Lambda would build, and deletes what the handler
// processed, honouring batchItemFailures. `make run` runs the fan-out and
// delivery handlers with it, and the tests run them through it.
package poller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Handler is the signature of an SQS-triggered function's handler.
type Handler func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// Config configures a Poller.
type Config struct {
	// Client reaches the queue.
	Client *sqs.Client
	// QueueURL and QueueARN name the queue; the ARN is each record's
	// eventSourceARN.
	QueueURL, QueueARN string
	// Region is each record's awsRegion.
	Region string
	// BatchSize is the most messages per invocation: 1 to 10 (one
	// ReceiveMessage, one DeleteMessageBatch).
	BatchSize int
	// Concurrency is how many invocations may run at once: one receiving
	// loop each, as the mapping's MaximumConcurrency caps Lambda's.
	Concurrency int
	// Timeout is the function timeout: each invocation's context ends
	// after it.
	Timeout time.Duration
	// ReportBatchItemFailures says the handler reports failed messages in
	// batchItemFailures, as FunctionResponseTypes does for the mapping.
	// Without it the response is ignored.
	ReportBatchItemFailures bool
	// Handler is the function's handler.
	Handler Handler
	// Logger receives a line per failed invocation or delete; nil means
	// slog.Default().
	Logger *slog.Logger
}

// waitSeconds is each receive's wait: short, because kumo's long poll
// never returns a message that becomes visible while it waits.
const waitSeconds = 1

// retryPause is the wait after a failed receive.
const retryPause = time.Second

// deleteTimeout bounds the delete after an invocation.
const deleteTimeout = 30 * time.Second

// Run polls until ctx is done and then waits for the invocations in
// flight, which are not cancelled: each ends by itself or at its timeout,
// and its messages are deleted as usual. It returns an error only for an
// invalid Config.
func Run(ctx context.Context, c Config) error {
	switch {
	case c.Client == nil || c.Handler == nil || c.QueueURL == "":
		return errors.New("poller: Client, Handler and QueueURL are required")
	case c.BatchSize < 1 || c.BatchSize > 10:
		return fmt.Errorf("poller: batch size %d is not 1 to 10", c.BatchSize)
	case c.Concurrency < 1:
		return fmt.Errorf("poller: concurrency %d is below 1", c.Concurrency)
	case c.Timeout <= 0:
		return fmt.Errorf("poller: timeout %v is not positive", c.Timeout)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Logger = c.Logger.With("queue", c.QueueARN)
	var wg sync.WaitGroup
	for range c.Concurrency {
		wg.Go(func() { c.loop(ctx) })
	}
	wg.Wait()
	return nil
}

// loop receives and invokes, one batch at a time, until ctx is done.
func (c Config) loop(ctx context.Context) {
	for ctx.Err() == nil {
		out, err := c.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(c.QueueURL),
			MaxNumberOfMessages:         int32(c.BatchSize),
			WaitTimeSeconds:             waitSeconds,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.Logger.WarnContext(ctx, "receive failed", "error", err)
			select {
			case <-ctx.Done():
			case <-time.After(retryPause):
			}
			continue
		}
		if len(out.Messages) > 0 {
			c.invoke(context.WithoutCancel(ctx), out.Messages)
		}
	}
}

// invoke hands msgs to the handler as one event and deletes the messages
// it processed.
func (c Config) invoke(ctx context.Context, msgs []types.Message) {
	event := Event(msgs, c.QueueARN, c.Region)
	ictx, cancel := context.WithTimeout(ctx, c.Timeout)
	resp, err := c.call(ictx, event)
	cancel()
	if err != nil {
		c.Logger.ErrorContext(ctx, "invocation failed; the batch returns to the queue", "error", err, "messages", len(msgs))
		return
	}
	failed := map[string]bool{}
	if c.ReportBatchItemFailures {
		inBatch := map[string]bool{}
		for _, m := range msgs {
			inBatch[aws.ToString(m.MessageId)] = true
		}
		for _, f := range resp.BatchItemFailures {
			if !inBatch[f.ItemIdentifier] {
				// As Lambda does: an identifier that names no message of
				// the batch (or none) fails the whole batch.
				c.Logger.ErrorContext(ctx, "batchItemFailures names no message of the batch; the batch returns to the queue",
					"item_identifier", f.ItemIdentifier, "messages", len(msgs))
				return
			}
			failed[f.ItemIdentifier] = true
		}
	}
	var entries []types.DeleteMessageBatchRequestEntry
	for i, m := range msgs {
		if !failed[aws.ToString(m.MessageId)] {
			entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
	}
	if len(failed) > 0 {
		c.Logger.InfoContext(ctx, "messages failed; they return to the queue", "failed", len(failed), "messages", len(msgs))
	}
	if len(entries) == 0 {
		return
	}
	dctx, dcancel := context.WithTimeout(ctx, deleteTimeout)
	defer dcancel()
	out, err := c.Client.DeleteMessageBatch(dctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(c.QueueURL), Entries: entries})
	if err != nil {
		c.Logger.WarnContext(ctx, "delete failed; the processed messages will come back", "error", err, "messages", len(entries))
		return
	}
	for _, f := range out.Failed {
		c.Logger.WarnContext(ctx, "delete failed; the processed message will come back", "code", aws.ToString(f.Code),
			"error", aws.ToString(f.Message), "message_id", aws.ToString(msgs[atoi(aws.ToString(f.Id))].MessageId))
	}
}

// atoi reads a delete entry's id, which is an index of the batch.
func atoi(s string) int {
	i, _ := strconv.Atoi(s)
	return i
}

// call runs the handler, turning a panic into an error, as the Lambda
// runtime reports a crashed invocation.
func (c Config) call(ctx context.Context, event events.SQSEvent) (resp events.SQSEventResponse, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return c.Handler(ctx, event)
}

// LocalSenderID is each record's SenderId when the emulator gives none.
const LocalSenderID = "AIDALOCALEMULATOR"

// Event builds the event Lambda's SQS mapping would pass for msgs,
// received with every system and message attribute from the queue
// queueARN in region.
func Event(msgs []types.Message, queueARN, region string) events.SQSEvent {
	event := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(msgs))}
	for _, m := range msgs {
		r := events.SQSMessage{
			MessageId:              aws.ToString(m.MessageId),
			ReceiptHandle:          aws.ToString(m.ReceiptHandle),
			Body:                   aws.ToString(m.Body),
			Md5OfBody:              aws.ToString(m.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
			Attributes:             map[string]string{},
			MessageAttributes:      map[string]events.SQSMessageAttribute{},
			EventSourceARN:         queueARN,
			EventSource:            "aws:sqs",
			AWSRegion:              region,
		}
		for k, v := range m.Attributes {
			r.Attributes[k] = v
		}
		if r.Attributes["SenderId"] == "" { // kumo does not keep one; Lambda always has it
			r.Attributes["SenderId"] = LocalSenderID
		}
		for k, v := range m.MessageAttributes {
			a := events.SQSMessageAttribute{
				StringValue:      v.StringValue,
				BinaryValue:      v.BinaryValue,
				StringListValues: v.StringListValues,
				BinaryListValues: v.BinaryListValues,
				DataType:         aws.ToString(v.DataType),
			}
			if a.StringListValues == nil { // Lambda sends [], not null
				a.StringListValues = []string{}
			}
			if a.BinaryListValues == nil {
				a.BinaryListValues = [][]byte{}
			}
			r.MessageAttributes[k] = a
		}
		event.Records = append(event.Records, r)
	}
	return event
}
