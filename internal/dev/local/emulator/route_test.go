package emulator

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestIsSQS(t *testing.T) {
	for _, c := range []struct {
		name, target, auth, contentType, body string
		want                                  bool
	}{
		{name: "json protocol", target: "AmazonSQS.ReceiveMessage", want: true},
		{name: "json protocol, other service", target: "DynamoDB_20120810.GetItem", want: false},
		{name: "signed for sqs", auth: "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=ab", want: true},
		{name: "signed for events", auth: "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/events/aws4_request, SignedHeaders=host, Signature=ab", want: false},
		{name: "query with a queue", contentType: "application/x-www-form-urlencoded; charset=utf-8", body: "Action=Anything&QueueUrl=http%3A%2F%2Fq", want: true},
		{name: "query receive", contentType: "application/x-www-form-urlencoded", body: "Action=ReceiveMessage&Version=2012-11-05", want: true},
		{name: "query of another service", contentType: "application/x-www-form-urlencoded", body: "Action=Publish&TopicArn=x", want: false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
			for k, v := range map[string]string{"X-Amz-Target": c.target, "Authorization": c.auth, "Content-Type": c.contentType} {
				if v != "" {
					r.Header.Set(k, v)
				}
			}
			if got := isSQS(r); got != c.want {
				t.Errorf("isSQS = %v, want %v", got, c.want)
			}
			if b, _ := io.ReadAll(r.Body); string(b) != c.body {
				t.Errorf("body after isSQS: %q, want %q", b, c.body)
			}
		})
	}
}
