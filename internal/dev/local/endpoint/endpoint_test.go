package endpoint_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/docproc/webhooks/internal/awsconf/chain"
	"github.com/docproc/webhooks/internal/dev/freeport"
	"github.com/docproc/webhooks/internal/dev/local/endpoint"
	"github.com/docproc/webhooks/internal/dev/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// check runs Check against url.
func check(t *testing.T, url string) error {
	t.Helper()
	cfg, err := chain.ForEndpoint(context.Background(), url, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return endpoint.Check(context.Background(), cfg, url)
}

// TestCheckSaysWhatIsWrong: a URL that is none, a port nothing listens
// on, and a server that is not an emulator (one that answers 404, as the
// API's own port does) each get their own error.
func TestCheckSaysWhatIsWrong(t *testing.T) {
	notFound := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
	}))
	defer notFound.Close()
	free, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		url  string
		want error
		says string
	}{
		{"127.0.0.1:4566", endpoint.ErrNotURL, "is not a URL"},
		{"http://" + free, endpoint.ErrUnreachable, "cannot be reached"},
		{notFound.URL, endpoint.ErrNotEmulator, "not as an AWS emulator (HTTP 404 to DynamoDB ListTables, with no AWS error code)"},
	} {
		err := check(t, c.url)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("Check(%s) = %v; want %v saying %q", c.url, err, c.want, c.says)
		}
	}
}

// TestCheckPassesAnEmulator: kumo passes, and its AWS errors are not
// taken for a server that is not an emulator.
func TestCheckPassesAnEmulator(t *testing.T) {
	kumo := testenv.Kumo(t)
	if err := check(t, kumo.URL); err != nil {
		t.Fatalf("Check(kumo) = %v", err)
	}
	cfg := kumo.Config(t)
	_, err := dynamodb.NewFromConfig(cfg).DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(testenv.Unique("missing-"))})
	if err == nil {
		t.Fatal("DescribeTable of a missing table: no error")
	}
	got := endpoint.Classify("DynamoDB DescribeTable", err)
	if errors.Is(got, endpoint.ErrNotEmulator) || errors.Is(got, endpoint.ErrUnreachable) || !errors.Is(got, err) {
		t.Errorf("Classify(kumo's not-found) = %v; want the AWS error as it is", got)
	}
}
