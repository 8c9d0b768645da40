package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/docproc/webhooks/internal/api"
	"github.com/docproc/webhooks/internal/app"
	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/config"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/webhook"
)

// createWithKey posts body as JSON with the stack's key and an
// Idempotency-Key.
func (s *stack) createWithKey(body, idempotencyKey string) events.APIGatewayV2HTTPResponse {
	s.t.Helper()
	return s.do(s.createRequest(body, idempotencyKey))
}

// createRequest is a create request with an Idempotency-Key.
func (s *stack) createRequest(body, idempotencyKey string) events.APIGatewayV2HTTPRequest {
	return request("POST", "/v1/webhooks", body, map[string]string{
		"Authorization": "Bearer " + s.key, "Content-Type": "application/json", "Idempotency-Key": idempotencyKey})
}

// idempotencyStates returns the state of every idempotency record.
func (s *stack) idempotencyStates() []string {
	s.t.Helper()
	var states []string
	for _, it := range s.rawTable() {
		if strings.HasPrefix(attrString(it["sk"]), "IDEMPOTENCY#") {
			states = append(states, attrString(it["state"]))
		}
	}
	return states
}

// runJanitor runs the janitor over the stack's table and prefix with no
// minimum age, and returns the secrets it deleted.
func (s *stack) runJanitor(t *testing.T) []string {
	t.Helper()
	// A scheduled janitor finds a checkpoint; without one it would read
	// every hour of janitor.Lookback.
	if err := s.store().SaveCheckpoint(context.Background(), time.Now().Add(-2*time.Hour).Truncate(time.Hour)); err != nil {
		t.Fatal(err)
	}
	j := app.NewJanitor(config.JanitorFunction{TableName: s.cfg.TableName, SecretNamePrefix: s.cfg.SecretNamePrefix},
		s.backend.Config(t), app.Logger(s.logs, slog.LevelInfo, config.LogFormatJSON))
	r, err := j.Run(context.Background())
	if err != nil {
		t.Fatalf("janitor: %v", err)
	}
	return r.Deleted
}

// secretChecks returns the janitor's secret check items in the stack's table.
func (s *stack) secretChecks() []map[string]ddbtypes.AttributeValue {
	s.t.Helper()
	var out []map[string]ddbtypes.AttributeValue
	for _, it := range s.rawTable() {
		if attrString(it["type"]) == "secret_check" {
			out = append(out, it)
		}
	}
	return out
}

func TestFaultsLeaveNothingHalfMade(t *testing.T) {
	const short = api.DeadlineMargin + 1500*time.Millisecond // leaves 1.5 s for AWS calls
	conflict := &ddbtypes.TransactionCanceledException{Message: aws.String("injected"),
		CancellationReasons: []ddbtypes.CancellationReason{{Code: aws.String("TransactionConflict")}, {Code: aws.String("None")}, {Code: aws.String("None")}}}
	cases := []struct {
		name     string
		faults   []testenv.Fault
		timeout  time.Duration // invocation deadline; 0 is 20 s
		status   int
		webhooks int // and the counter
		secrets  int
		checks   int    // secret checks left for the janitor
		logged   string // for a secret left behind: the log line naming its ARN
	}{
		{name: "CreateSecret fails",
			faults: []testenv.Fault{{Operation: "CreateSecret", Err: apiError("InternalServiceError")}},
			status: 503, checks: 1},
		{name: "CreateSecret hangs past the deadline",
			faults:  []testenv.Fault{{Operation: "CreateSecret", Hang: true}},
			timeout: short, status: 503, checks: 1},
		{name: "CreateSecret commits, its response lost",
			faults: []testenv.Fault{{Operation: "CreateSecret", Times: 1, AfterSend: true, Err: testenv.ConnectionReset{}}},
			status: 201, webhooks: 1, secrets: 1},
		{name: "transaction fails",
			faults: []testenv.Fault{{Operation: "TransactWriteItems", Err: apiError("ValidationException")}},
			status: 500},
		{name: "transaction throttled on every try",
			faults: []testenv.Fault{{Operation: "TransactWriteItems", Err: apiError("ThrottlingException")}},
			status: 503},
		{name: "transaction throttled once, then retried by the SDK",
			faults: []testenv.Fault{{Operation: "TransactWriteItems", Times: 1, Err: apiError("ThrottlingException")}},
			status: 201, webhooks: 1, secrets: 1},
		{name: "transaction cancelled by a conflict once, then retried",
			faults: []testenv.Fault{{Operation: "TransactWriteItems", Times: 1, Err: conflict}},
			status: 201, webhooks: 1, secrets: 1},
		{name: "transaction commits, every response lost",
			faults: []testenv.Fault{{Operation: "TransactWriteItems", AfterSend: true, Err: testenv.ConnectionReset{}}},
			status: 201, webhooks: 1, secrets: 1},
		{name: "transaction commits, response lost with a non-retryable error",
			faults: []testenv.Fault{{Operation: "TransactWriteItems", AfterSend: true, Err: apiError("ValidationException")}},
			status: 201, webhooks: 1, secrets: 1},
		{name: "transaction hangs past the deadline",
			faults:  []testenv.Fault{{Operation: "TransactWriteItems", Hang: true}},
			timeout: short, status: 503},
		{name: "transaction commits, then the deadline passes",
			faults:  []testenv.Fault{{Operation: "TransactWriteItems", AfterSend: true, Hang: true}},
			timeout: short, status: 201, webhooks: 1, secrets: 1},
		{name: "transaction fails and DeleteSecret fails",
			faults: []testenv.Fault{
				{Operation: "TransactWriteItems", Err: apiError("ValidationException")},
				{Operation: "DeleteSecret", Err: apiError("ValidationException")}},
			status: 500, secrets: 1, checks: 1, logged: "compensation failed"},
		{name: "transaction fails and the re-read fails",
			faults: []testenv.Fault{
				{Operation: "TransactWriteItems", Err: apiError("ValidationException")},
				{Operation: "GetItem", Skip: 1, Err: apiError("ValidationException")}}, // the first is the key lookup
			status: 500, secrets: 1, checks: 1, logged: "create outcome unknown"},
		{name: "every step hangs: transaction, re-read, DeleteSecret and the key's release",
			faults: []testenv.Fault{
				{Operation: "TransactWriteItems", Hang: true},
				{Operation: "GetItem", Skip: 1, Hang: true},
				{Operation: "DeleteSecret", Hang: true},
				{Operation: "DeleteItem", Hang: true}},
			timeout: short, status: 503, secrets: 1, checks: 1, logged: "create outcome unknown"},
	}
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				s := newStack(t, b, c.faults...)
				timeout := c.timeout
				if timeout == 0 {
					timeout = 20 * time.Second
				}
				start := time.Now()
				resp := s.doWithin(s.createRequest(`{"url":"https://example.com/hooks"}`, "retry-me"), timeout)
				if elapsed := time.Since(start); elapsed > timeout {
					t.Errorf("answered after %v, past the invocation deadline of %v", elapsed, timeout)
				}
				if resp.StatusCode != c.status {
					t.Fatalf("status = %d, want %d: %s", resp.StatusCode, c.status, resp.Body)
				}
				if c.status >= 500 {
					e := errorOf(t, resp)
					if strings.Contains(resp.Body, "injected") || strings.Contains(resp.Body, "arn:") {
						t.Errorf("5xx body shows internals: %s", resp.Body)
					}
					if e["request_id"] == "" || !strings.Contains(s.logs.String(), e["request_id"].(string)) {
						t.Errorf("5xx request id %v not in the logs", e["request_id"])
					}
				}
				if c.status == 503 && resp.Headers["Retry-After"] == "" {
					t.Errorf("503 without Retry-After")
				}
				s.assertState(c.webhooks, c.secrets)
				if got := len(s.secretChecks()); got != c.checks {
					t.Errorf("secret checks = %d, want %d", got, c.checks)
				}
				// A failed create frees its Idempotency-Key (unless even the
				// release hangs; then the lock expires); a successful one
				// completes it.
				want := "[]"
				switch {
				case c.status == 201:
					want = "[completed]"
				case strings.HasPrefix(c.name, "every step hangs"):
					want = "[in_progress]"
				}
				if got := fmt.Sprint(s.idempotencyStates()); got != want {
					t.Errorf("idempotency records = %s, want %s", got, want)
				}
				if c.logged != "" {
					orphans := s.secrets()
					if len(orphans) != 1 || !strings.Contains(s.logs.String(), c.logged) ||
						!strings.Contains(s.logs.String(), aws.ToString(orphans[0].ARN)) {
						t.Fatalf("the secret left behind was not logged with %q and its ARN", c.logged)
					}
				}
				if c.checks == 0 {
					return
				}
				// What is left, the janitor settles: no secret and no check remain.
				deleted := s.runJanitor(t)
				if len(deleted) != c.checks {
					t.Errorf("janitor deleted %v, want the %d orphans' secrets (deleting one that is gone is a no-op)", deleted, c.checks)
				}
				s.assertState(c.webhooks, 0)
				if got := len(s.secretChecks()); got != 0 {
					t.Errorf("after the janitor, secret checks = %d, want 0", got)
				}
			})
		}
	})
}

func TestConcurrentCreatesStopAtTheLimit(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newLimitedStack(t, b, 16)
		const n = 64
		var mu sync.Mutex
		statuses := map[string]int{}
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				resp := s.create(fmt.Sprintf(`{"url":"https://example.com/%d"}`, i))
				key := fmt.Sprint(resp.StatusCode)
				if resp.StatusCode == 400 {
					key += " " + fmt.Sprint(errorOf(t, resp)["code"])
				}
				mu.Lock()
				statuses[key]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if statuses["201"] != 16 || statuses["400 webhook_limit_reached"] != 48 {
			t.Errorf("outcomes = %v, want 16 × 201 and 48 × 400 webhook_limit_reached", statuses)
		}
		// Under load an emulator can lose the answer to a CreateSecret or a
		// DeleteSecret; such a secret is left, with its check, for the
		// janitor, which is part of the guarantee: once it has run, exactly
		// the 16 webhooks' secrets remain.
		if deleted := s.runJanitor(t); len(deleted) > 0 {
			t.Logf("the janitor deleted %d orphan secrets left by lost answers", len(deleted))
		}
		s.assertState(16, 16)
		s.assertEveryWebhookHasItsSecret()
	})
}

// assertEveryWebhookHasItsSecret reads the secret each webhook item names.
func (s *stack) assertEveryWebhookHasItsSecret() {
	s.t.Helper()
	for _, it := range s.webhookItems() {
		arn := attrString(it["secret_arn"])
		if _, err := s.sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)}); err != nil {
			s.t.Errorf("webhook %s: its secret %s: %v", attrString(it["id"]), arn, err)
		}
	}
}

func TestConcurrentRequestsWithOneIdempotencyKey(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		const n = 32
		var mu sync.Mutex
		created := map[string]int{} // "id secret" -> count
		statuses := map[int]int{}
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				resp := s.createWithKey(`{"url":"https://example.com/once"}`, "order-4711")
				mu.Lock()
				defer mu.Unlock()
				statuses[resp.StatusCode]++
				switch resp.StatusCode {
				case 201:
					body := decode(t, resp)
					created[fmt.Sprint(body["id"], " ", body["signing_secret"])]++
				case 409:
					if e := errorOf(t, resp); e["type"] != "idempotency_error" || resp.Headers["Retry-After"] == "" {
						t.Errorf("409 = %s, Retry-After %q; want an idempotency_error with Retry-After", resp.Body, resp.Headers["Retry-After"])
					}
				}
			})
		}
		wg.Wait()
		if statuses[201]+statuses[409] != n || statuses[201] == 0 {
			t.Errorf("statuses = %v, want only 201 and 409, at least one 201", statuses)
		}
		if len(created) != 1 {
			t.Errorf("the 201s carry %d different id/secret pairs, want 1: %v", len(created), created)
		}
		s.assertState(1, 1)
	})
}

func TestIdempotentReplay(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		first := s.createWithKey(`{"url":"https://example.com/a"}`, "k-1")
		if first.StatusCode != 201 || first.Headers["Idempotent-Replayed"] != "" {
			t.Fatalf("first: %d %v: %s", first.StatusCode, first.Headers, first.Body)
		}
		// The same request spelled with its defaults is the same request.
		again := s.createWithKey(`{"max_retries":5,"url":"https://example.com/a","events":["document.processing.failed","document.processing.completed"]}`, "k-1")
		if again.StatusCode != 201 || again.Body != first.Body || again.Headers["Idempotent-Replayed"] != "true" ||
			again.Headers["Location"] != first.Headers["Location"] || again.Headers["Cache-Control"] != "no-store" {
			t.Errorf("replay = %d %v %s; want the first body with Idempotent-Replayed: true\nfirst %s",
				again.StatusCode, again.Headers, again.Body, first.Body)
		}
		// Other parameters under the same key are refused.
		other := s.createWithKey(`{"url":"https://example.com/b"}`, "k-1")
		if e := errorOf(t, other); other.StatusCode != 400 || e["type"] != "idempotency_error" || e["code"] != "idempotency_key_reused" {
			t.Errorf("other parameters: %d %s; want 400 idempotency_error", other.StatusCode, other.Body)
		}
		// A new key is a new webhook.
		if r := s.createWithKey(`{"url":"https://example.com/a"}`, "k-2"); r.StatusCode != 201 || decode(t, r)["id"] == decode(t, first)["id"] {
			t.Errorf("new key: %d %s; want a new webhook", r.StatusCode, r.Body)
		}
		s.assertState(2, 2)
		if strings.Contains(fmt.Sprint(s.rawTable()), "whsec_") {
			t.Error("an idempotency record holds the secret")
		}
	})
}

func TestIdempotencyKeyValidation(t *testing.T) {
	s := newStack(t, testenv.Kumo(t))
	for name, key := range map[string]string{
		"empty": "", "too long": strings.Repeat("k", 256), "newline": "a\nb", "non-ascii": "clé",
	} {
		resp := s.createWithKey(`{"url":"https://example.com"}`, key)
		if e := errorOf(t, resp); resp.StatusCode != 400 || e["code"] != apperr.CodeIdempotencyKeyInvalid || e["param"] != "Idempotency-Key" {
			t.Errorf("%s key: %d %s", name, resp.StatusCode, resp.Body)
		}
	}
	if resp := s.createWithKey(`{"url":"https://example.com"}`, strings.Repeat("~", 255)); resp.StatusCode != 201 {
		t.Errorf("255 printable characters: %d %s", resp.StatusCode, resp.Body)
	}
	s.assertState(1, 1)
}

func TestIdempotencyLockExpiry(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		body := `{"url":"https://example.com/slow"}`
		params := webhook.NewSettings(webhook.UpdateParams{URL: aws.String("https://example.com/slow")})
		// A request that is still running holds its key ...
		now := time.Now()
		hold := func(key string, at time.Time) {
			c := webhook.Claim{Owner: s.owner, Key: key, Fingerprint: params.Fingerprint(), Token: "other",
				At: at, LockedUntil: at.Add(webhook.DefaultLockTTL), ExpiresAt: at.Add(webhook.IdempotencyTTL)}
			if prior, err := s.store().ClaimKey(context.Background(), c); err != nil || prior != nil {
				t.Fatalf("hold %s: %v %v", key, prior, err)
			}
		}
		hold("live", now)
		if r := s.createWithKey(body, "live"); r.StatusCode != 409 || errorOf(t, r)["code"] != "idempotency_key_in_use" {
			t.Errorf("key locked by a running request: %d %s; want 409", r.StatusCode, r.Body)
		}
		// ... until its lock expires (it crashed); then a retry takes over.
		hold("crashed", now.Add(-webhook.DefaultLockTTL-time.Second))
		if r := s.createWithKey(body, "crashed"); r.StatusCode != 201 || r.Headers["Idempotent-Replayed"] != "" {
			t.Errorf("key with an expired lock: %d %s; want a fresh 201", r.StatusCode, r.Body)
		}
		s.assertState(1, 1)
	})
}
