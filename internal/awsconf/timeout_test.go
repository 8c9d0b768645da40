package awsconf_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/awsconf"
)

// TestAStalledAttemptIsRetried serves a real SDK client from a server that
// never answers its first request: the attempt times out, the SDK retries
// on a fresh connection, and the call succeeds well inside its deadline.
// Without a per-attempt timeout the first attempt would hold the call
// until the context ended, and the call would fail.
func TestAStalledAttemptIsRetried(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so that the server notices the client leave
		if requests.Add(1) == 1 {
			<-r.Context().Done() // a connection that never answers
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	cfg := configFor(t, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 3*awsconf.AttemptTimeout)
	defer cancel()
	_, err := dynamodb.NewFromConfig(cfg).GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "x"}}})
	if err != nil || requests.Load() != 2 {
		t.Fatalf("GetItem = %v after %d requests; want success on the second", err, requests.Load())
	}
}

// TestATransactionConflictIsRetried answers a write's first request as
// DynamoDB does when a transaction holds the item: the SDK tries again,
// and the write succeeds. Without it, a customer's PATCH that met the
// delivery function's health update would fail.
func TestATransactionConflictIsRetried(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if requests.Add(1) == 1 {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#TransactionConflictException",` +
				`"message":"Transaction is ongoing for the item"}`))
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	cfg := configFor(t, srv.URL)
	_, err := dynamodb.NewFromConfig(cfg).UpdateItem(context.Background(), &dynamodb.UpdateItemInput{TableName: aws.String("t"),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "x"}}, UpdateExpression: aws.String("SET a = :a"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":a": &types.AttributeValueMemberS{Value: "b"}}})
	if err != nil || requests.Load() != 2 {
		t.Fatalf("UpdateItem = %v after %d requests; want success on the second", err, requests.Load())
	}
}

// configFor is the functions' SDK configuration, pointed at url.
func configFor(t *testing.T, url string) aws.Config {
	t.Helper()
	cfg, err := awsconf.FromEnv(func(name string) string {
		return map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s",
			"AWS_ENDPOINT_URL": url}[name]
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
