package dynamo

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
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
}
