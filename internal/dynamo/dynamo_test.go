package dynamo

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/docproc/webhooks/internal/tenant"
)

// kumo sends no valid CRC32 on DynamoDB answers; the check may be skipped
// against an emulator and must stay on against AWS.
func TestChecksumValidationOffOnlyForCustomEndpoints(t *testing.T) {
	if NewClient(aws.Config{Region: "eu-west-1"}).Options().DisableValidateResponseChecksum {
		t.Error("response checksum validation is off against AWS")
	}
	if !NewClient(aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String("http://127.0.0.1:4566")}).Options().DisableValidateResponseChecksum {
		t.Error("response checksum validation is on against an emulator")
	}
}

func TestKeys(t *testing.T) {
	if got := apiKeyPK("ab"); got != "APIKEY#ab" {
		t.Errorf("apiKeyPK = %q", got)
	}
	if got := webhookSK("wh_1"); got != "WEBHOOK#wh_1" {
		t.Errorf("webhookSK = %q", got)
	}
	// An event's day partition is its UTC day.
	at := time.Date(2026, 12, 1, 23, 30, 0, 5, time.FixedZone("UTC-2", -2*60*60))
	if got := eventsPK(tenant.Tenant{Account: "acct_1", Mode: tenant.Live}, at); got != "EVENTS#acct_1#live#2026-12-02" {
		t.Errorf("eventsPK = %q", got)
	}
	if got := eventsSK(at, "evt_1"); got != "2026-12-02T01:30:00.000000005Z#evt_1" {
		t.Errorf("eventsSK = %q", got)
	}
}
