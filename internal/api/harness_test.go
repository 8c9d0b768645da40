package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/dev/syncbuf"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/docproc/webhooks/internal/apikey"
	"github.com/docproc/webhooks/internal/app"
	"github.com/docproc/webhooks/internal/config"
	"github.com/docproc/webhooks/internal/dev/local/bridge"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/tenant"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// stack is one test's own deployment on an emulator: its own table,
// secret prefix, account and API key.
type stack struct {
	t       testing.TB
	backend testenv.Backend
	faults  *testenv.Injector
	handler bridge.LambdaHandler
	cfg     config.APIFunction
	db      *dynamodb.Client
	sm      *secretsmanager.Client
	logs    *syncbuf.Buffer
	key     string
	owner   tenant.Tenant
	// sqs reads the delivery queue the stack's manual sends go to.
	sqs *sqs.Client
}

// newStack builds the real handler over b with faults injected into its
// SDK clients. The test's own inspection clients get no faults. Its
// webhook limit is high enough not to get in the way.
func newStack(t testing.TB, b testenv.Backend, faults ...testenv.Fault) *stack {
	t.Helper()
	return newLimitedStack(t, b, 100, faults...)
}

// newLimitedStack is newStack with a limit of webhooks per account.
func newLimitedStack(t testing.TB, b testenv.Backend, limit int, faults ...testenv.Fault) *stack {
	t.Helper()
	ctx := context.Background()
	s := &stack{t: t, backend: b, faults: testenv.NewInjector(faults...), logs: &syncbuf.Buffer{}}
	s.cfg = config.APIFunction{
		TableName:        testenv.Unique("webhooks-"),
		SecretNamePrefix: testenv.Unique("webhooks/t"),
		MaxWebhooks:      limit,
		KeyCacheTTL:      config.DefaultKeyCacheTTL,
	}
	plain := b.Config(t)
	s.db = dynamo.NewClient(plain)
	s.sm = secretsmanager.NewFromConfig(plain)
	testenv.CreateTable(t, s.db, s.cfg.TableName)
	s.sqs = sqs.NewFromConfig(plain)
	q, err := s.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(testenv.Unique("deliveries-"))})
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.DeliveryQueueURL = aws.ToString(q.QueueUrl)
	s.handler = s.newHandler()
	s.owner = tenant.Tenant{Account: testenv.Unique("acct_"), Mode: tenant.Test}
	// The key is stored through a fault-free client, so seeding never trips a fault.
	key, err := apikey.Issue(ctx, s.store(), s.owner, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s.key = key.Raw()
	t.Cleanup(s.assertLogsClean)
	return s
}

// newHandler builds the real handler over the stack's table and prefix,
// with the stack's faults injected into its SDK clients.
func (s *stack) newHandler() bridge.LambdaHandler {
	parts := app.New(s.cfg, s.backend.Config(s.t, s.faults.Middleware), app.Logger(s.logs, slog.LevelDebug, config.LogFormatJSON), s.logs)
	return parts.Handler.Handle
}

// withFaults returns a stack over s's table, secrets and account whose
// handler suffers faults, for a request that must fail where the set-up
// must not.
func (s *stack) withFaults(faults ...testenv.Fault) *stack {
	c := *s
	c.faults = testenv.NewInjector(faults...)
	c.handler = c.newHandler()
	return &c
}

// request is a payload 2.0 event for method and path.
func request(method, path, body string, headers map[string]string) events.APIGatewayV2HTTPRequest {
	h := map[string]string{}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path, Headers: h, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: testenv.Unique("req-"), Stage: "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path},
		},
	}
}

// create posts body as JSON with the stack's key.
func (s *stack) create(body string) events.APIGatewayV2HTTPResponse {
	s.t.Helper()
	return s.do(request("POST", "/v1/webhooks", body, map[string]string{
		"Authorization": "Bearer " + s.key, "Content-Type": "application/json"}))
}

// do runs the handler with a deadline like Lambda's.
func (s *stack) do(req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	s.t.Helper()
	return s.doWithin(req, 20*time.Second)
}

// doWithin runs the handler with an invocation deadline of timeout.
func (s *stack) doWithin(req events.APIGatewayV2HTTPRequest, timeout time.Duration) events.APIGatewayV2HTTPResponse {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	resp, err := s.handler(ctx, req)
	if err != nil {
		s.t.Fatalf("handler returned an invocation error: %v", err)
	}
	checkContract(s.t, req, resp)
	return resp
}

// webhookItems returns the webhook items in the stack's table.
func (s *stack) webhookItems() []map[string]ddbtypes.AttributeValue {
	s.t.Helper()
	var items []map[string]ddbtypes.AttributeValue
	p := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{TableName: aws.String(s.cfg.TableName)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			s.t.Fatalf("scan: %v", err)
		}
		for _, it := range out.Items {
			if strings.HasPrefix(attrString(it["sk"]), "WEBHOOK#") {
				items = append(items, it)
			}
		}
	}
	return items
}

// secrets returns the secrets under the stack's prefix.
func (s *stack) secrets() []smtypes.SecretListEntry {
	s.t.Helper()
	var out []smtypes.SecretListEntry
	p := secretsmanager.NewListSecretsPaginator(s.sm, &secretsmanager.ListSecretsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			s.t.Fatalf("list secrets: %v", err)
		}
		for _, e := range page.SecretList {
			if strings.HasPrefix(aws.ToString(e.Name), s.cfg.SecretNamePrefix+"/") {
				out = append(out, e)
			}
		}
	}
	return out
}

// assertState checks the counts of stored webhooks and secrets, and that
// the account's counter agrees with the webhooks.
func (s *stack) assertState(webhooks, secrets int) {
	s.t.Helper()
	if got := len(s.webhookItems()); got != webhooks {
		s.t.Errorf("webhook items = %d, want %d", got, webhooks)
	}
	if got := len(s.secrets()); got != secrets {
		s.t.Errorf("secrets = %d, want %d", got, secrets)
	}
	if got := s.counter(); got != webhooks {
		s.t.Errorf("counter = %d, want %d", got, webhooks)
	}
}

// counter reads the account's webhook count (0 when there is no item).
func (s *stack) counter() int {
	s.t.Helper()
	out, err := s.db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(s.cfg.TableName), ConsistentRead: aws.Bool(true),
		Key: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: tenantPK(s.owner)},
			"sk": &ddbtypes.AttributeValueMemberS{Value: counterSK},
		}})
	if err != nil {
		s.t.Fatalf("get counter: %v", err)
	}
	n, ok := out.Item[attrWebhookCount].(*ddbtypes.AttributeValueMemberN)
	if !ok {
		return 0
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil {
		s.t.Fatalf("counter %q: %v", n.Value, err)
	}
	return v
}

// wholeKey matches an unredacted API key.
var wholeKey = regexp.MustCompile(`dk_(test|live)_[A-Za-z0-9]{24,}`)

// assertLogsClean fails if any whole API key or any signing secret
// reached the logs or metrics of the stack's run, and shows the warnings
// and errors logged if the test failed. Every integration test runs it
// when it ends.
func (s *stack) assertLogsClean() {
	logs := s.logs.String()
	checkLogs(s.t, logs)
	if s.t.Failed() { // show what went wrong inside the handler
		for line := range strings.Lines(logs) {
			if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`) {
				s.t.Log(strings.TrimSpace(line))
			}
		}
	}
}

// checkLogs fails t if logs hold a whole API key or a signing secret.
func checkLogs(t testing.TB, logs string) {
	t.Helper()
	if wholeKey.MatchString(logs) {
		t.Errorf("logs contain a whole API key: %s", wholeKey.FindString(logs))
	}
	if strings.Contains(logs, "whsec_") {
		t.Errorf("logs contain a signing secret")
	}
}

// drainLogs returns what the stack logged since the last drain, and
// forgets it.
func (s *stack) drainLogs() string {
	return s.logs.Drain()
}

// attrString returns a string attribute's value, or "".
func attrString(v ddbtypes.AttributeValue) string {
	if s, ok := v.(*ddbtypes.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// attrNumber returns a number attribute's value.
func attrNumber(t *testing.T, v ddbtypes.AttributeValue) int {
	t.Helper()
	n, ok := v.(*ddbtypes.AttributeValueMemberN)
	if !ok {
		t.Fatalf("attribute %v is not a number", v)
	}
	i, err := strconv.Atoi(n.Value)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// decode parses a JSON response body.
func decode(t *testing.T, resp events.APIGatewayV2HTTPResponse) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
		t.Fatalf("response body is not JSON: %v: %s", err, resp.Body)
	}
	return m
}

// errorOf returns the "error" member of an error response.
func errorOf(t *testing.T, resp events.APIGatewayV2HTTPResponse) map[string]any {
	t.Helper()
	e, ok := decode(t, resp)["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %s", resp.Body)
	}
	return e
}

// rawTable returns every item in the stack's table, as stored.
func (s *stack) rawTable() []map[string]ddbtypes.AttributeValue {
	s.t.Helper()
	out, err := s.db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(s.cfg.TableName)})
	if err != nil {
		s.t.Fatalf("scan: %v", err)
	}
	return out.Items
}

// revokedKey issues a key for the stack's owner and revokes it.
func (s *stack) revokedKey() string {
	s.t.Helper()
	store := s.store()
	key, err := apikey.Issue(context.Background(), store, s.owner, time.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	rec, err := store.LookupAPIKey(context.Background(), key.Hash())
	if err != nil {
		s.t.Fatal(err)
	}
	rec.Active = false
	if err := store.PutAPIKey(context.Background(), rec); err != nil {
		s.t.Fatal(err)
	}
	return key.Raw()
}

// store returns an API key store over the stack's table without faults.
func (s *stack) store() *dynamo.Store {
	return dynamo.New(s.db, s.cfg.TableName)
}

// The table's layout, written out here independently of the dynamo
// package, so that a change to it shows up in these tests.
const (
	counterSK        = "COUNTER"
	attrWebhookCount = "webhook_count"
)

// tenantPK is the partition key of an owner's items.
func tenantPK(owner tenant.Tenant) string {
	return "ACCOUNT#" + owner.Account + "#" + string(owner.Mode)
}

// webhookSK is the sort key of a webhook.
func webhookSK(id string) string { return "WEBHOOK#" + id }
