package emulator_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/docproc/webhooks/internal/awsconf/chain"
	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/local/emulator"
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
