package docs_test

// The publishing call that docs/publishing.md shows, compiled here so that
// it cannot go stale: TestGoBlocksAreCompiled checks that every go block
// of the docs is, word for word, in a file of this package.

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// DocumentEvent is the Detail of a document event.
type DocumentEvent struct {
	Account  string          `json:"account"`
	Livemode bool            `json:"livemode"`
	ID       string          `json:"id,omitempty"` // the same id published twice is one event
	Data     json.RawMessage `json:"data"`         // a JSON object
}

// Publish publishes one document event of eventType, such as
// "document.uploaded", to bus, the stack's EventBusName output.
func Publish(ctx context.Context, client *eventbridge.Client, bus, eventType string, ev DocumentEvent) error {
	detail, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	out, err := client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		EventBusName: aws.String(bus),
		Source:       aws.String("docproc.documents"),
		DetailType:   aws.String(eventType),
		Detail:       aws.String(string(detail)),
	}}})
	if err != nil {
		return err
	}
	// PutEvents answers 200 even when it refuses an entry.
	if out.FailedEntryCount > 0 {
		return fmt.Errorf("event refused: %s: %s", aws.ToString(out.Entries[0].ErrorCode), aws.ToString(out.Entries[0].ErrorMessage))
	}
	return nil
}

// Example_publish publishes a document.uploaded event with a platform
// event id. It has no Output line, so go test compiles it but does not run
// it: it would need AWS.
func Example_publish() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx) // the publishing service's own credentials and region
	if err != nil {
		log.Fatal(err)
	}
	bus := "webhooks-dev-documents" // the stack's EventBusName output
	err = Publish(ctx, eventbridge.NewFromConfig(cfg), bus, "document.uploaded", DocumentEvent{
		Account:  "acct_42",
		Livemode: true,
		ID:       "evt_doc_123_uploaded",
		Data:     json.RawMessage(`{"document_id":"doc_123"}`),
	})
	if err != nil {
		log.Fatal(err)
	}
}
