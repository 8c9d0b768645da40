// Package bus is the EventBridge adapter of delivery: it publishes the
// service's operational notices (a webhook disabled, a delivery out of
// attempts) to the stack's event bus, where the platform subscribes to
// them with a rule on source delivery.NoticeSource.
package bus

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/docproc/webhooks/internal/awserr"
	"github.com/docproc/webhooks/internal/delivery"
)

// Compile-time check that Notifier implements the delivery port.
var _ delivery.Notifier = (*Notifier)(nil)

// Notifier publishes notices to one event bus.
type Notifier struct {
	client *eventbridge.Client
	bus    string
}

// New returns a Notifier that publishes to the bus named bus.
func New(client *eventbridge.Client, bus string) *Notifier {
	return &Notifier{client: client, bus: bus}
}

// Notify implements delivery.Notifier with one PutEvents entry: source
// delivery.NoticeSource, detail-type n.Type, the notice as its detail and
// n.At as its time. An entry EventBridge declines is an error, wrapped
// around apperr.ErrUnavailable when a retry may cure it (throttling, an
// internal failure).
func (p *Notifier) Notify(ctx context.Context, n delivery.Notice) error {
	op := "eventbridge PutEvents " + n.Type
	detail, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("encode %s notice %s: %w", n.Type, n.ID, err)
	}
	out, err := p.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		EventBusName: aws.String(p.bus),
		Source:       aws.String(delivery.NoticeSource),
		DetailType:   aws.String(n.Type),
		Detail:       aws.String(string(detail)),
		Time:         aws.Time(n.At),
	}}})
	if err != nil {
		return awserr.Classify(op, err)
	}
	if out.FailedEntryCount == 0 {
		return nil
	}
	code, msg := "", "no reason given"
	if len(out.Entries) > 0 {
		code, msg = aws.ToString(out.Entries[0].ErrorCode), aws.ToString(out.Entries[0].ErrorMessage)
	}
	failed := fmt.Errorf("notice %s declined: %s %s", n.ID, code, msg)
	if awserr.TransientCode(code) {
		return awserr.Unavailable(op, failed)
	}
	return fmt.Errorf("%s: %w", op, failed)
}
