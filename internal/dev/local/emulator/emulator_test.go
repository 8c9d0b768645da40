package emulator_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/docproc/webhooks/internal/awsconf/chain"
	"github.com/docproc/webhooks/internal/dev/local/emulator"
	"github.com/docproc/webhooks/internal/dynamo"
)

func TestEmulatorOnFixedAddress(t *testing.T) {
	emu, err := emulator.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := chain.ForEndpoint(context.Background(), emu.URL, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dynamo.NewClient(cfg).ListTables(context.Background(), &dynamodb.ListTablesInput{}); err != nil {
		t.Errorf("DynamoDB through the proxy: %v", err)
	}
	if err := emu.Close(context.Background()); err != nil {
		t.Errorf("close: %v", err)
	}
	if _, err := http.Get(emu.URL); err == nil {
		t.Error("emulator still answers after Close")
	}
}

// TestPreparedEmulatorReachesItsQueues: after Prepare, Start on the same
// address serves on the listener Prepare passed on, the one KUMO_HOST and
// KUMO_PORT name; a second emulator gets another address, which kumo's
// EventBridge does not reach.
func TestPreparedEmulatorReachesItsQueues(t *testing.T) {
	first, err := emulator.Start(preparedAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close(context.Background())
	second, err := emulator.Start(preparedAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close(context.Background())
	if first.EventsReachQueues() == second.EventsReachQueues() {
		t.Errorf("EventsReachQueues: %v for %s, %v for %s; want exactly one (KUMO_PORT=%s)",
			first.EventsReachQueues(), first.URL, second.EventsReachQueues(), second.URL, os.Getenv("KUMO_PORT"))
	}
}

// TestLongPollDoesNotStallOtherCalls: a ReceiveMessage that waits passes
// the proxy's lock, so a DynamoDB call answers meanwhile.
func TestLongPollDoesNotStallOtherCalls(t *testing.T) {
	emu, err := emulator.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close(context.Background())
	ctx := context.Background()
	cfg, err := chain.ForEndpoint(ctx, emu.URL, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	sq := sqs.NewFromConfig(cfg)
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("long-poll")})
	if err != nil {
		t.Fatal(err)
	}
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	polled := make(chan error, 1)
	go func() {
		_, err := sq.ReceiveMessage(pollCtx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 8}) // under the SDK's 15 s attempt timeout
		polled <- err
	}()
	for range 5 {
		if _, err := dynamo.NewClient(cfg).ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-polled:
		t.Fatalf("the long poll ended (%v) before the test could show it does not block", err)
	default:
	}
	stopPoll() // the poll has shown what it had to; waiting out its 8 s shows nothing more
	if err := <-polled; !errors.Is(err, context.Canceled) {
		t.Errorf("long poll after its context was cancelled: %v; want context.Canceled", err)
	}
}
