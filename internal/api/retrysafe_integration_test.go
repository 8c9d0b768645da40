package api_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/dev/testenv"
)

// rotateRequest is a rotation request with an optional Idempotency-Key.
func (s *stack) rotateRequest(id, body, idempotencyKey string) events.APIGatewayV2HTTPRequest {
	h := map[string]string{"Authorization": "Bearer " + s.key}
	if body != "" {
		h["Content-Type"] = "application/json"
	}
	if idempotencyKey != "" {
		h["Idempotency-Key"] = idempotencyKey
	}
	return request("POST", "/v1/webhooks/"+id+"/rotate-secret", body, h)
}

// lost is a fault that lets the matching attempts commit and loses their
// answers, so the SDK retries them.
func lost(op string, skip, times int) testenv.Fault {
	return testenv.Fault{Operation: op, Skip: skip, Times: times, AfterSend: true, Err: testenv.ConnectionReset{}}
}

// TestCommittedRotationIsASuccess makes every step after a rotation's
// commit (its new secret stored) fail or lose its answer: the caller still
// gets 200 and the secret that is now stored, so deliveries are never
// signed with a secret nobody holds.
func TestCommittedRotationIsASuccess(t *testing.T) {
	cases := []struct {
		name   string
		faults []testenv.Fault
	}{
		// UpdateItem 1 takes the lock, UpdateItem 2 and on release it.
		{"the unlock is throttled", []testenv.Fault{{Operation: "UpdateItem", Skip: 1, Err: apiError("ThrottlingException")}}},
		{"the unlock commits and every answer is lost", []testenv.Fault{lost("UpdateItem", 1, 0)}},
		{"the unlock commits and its answer is lost once", []testenv.Fault{lost("UpdateItem", 1, 1)}},
		{"the lock commits and its answer is lost once", []testenv.Fault{lost("UpdateItem", 0, 1)}},
		{"the secret's write commits and its answer is lost once", []testenv.Fault{lost("PutSecretValue", 0, 1)}},
		{"the secret's write commits and every answer is lost", []testenv.Fault{lost("PutSecretValue", 0, 0)}},
		{"the secret's write commits and its answer is an unexpected error",
			[]testenv.Fault{{Operation: "PutSecretValue", Times: 1, AfterSend: true, Err: apiError("ValidationException")}}},
	}
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				s := newStack(t, b, c.faults...)
				id, first := s.mustCreate(`{"url":"https://example.com/r"}`)
				r := s.do(s.rotateRequest(id, `{"grace_period_seconds":0}`, ""))
				if r.StatusCode != 200 {
					t.Fatalf("rotate: %d %s; want 200", r.StatusCode, r.Body)
				}
				got := decode(t, r)["signing_secret"]
				if v := s.storedSecrets(id); got != v.SigningSecret || got == first || len(v.Previous) != 0 {
					t.Errorf("answered %v; stored %d previous, current is the answer: %v", got, len(v.Previous), got == v.SigningSecret)
				}
			})
		}
	})
}

// TestLostAnswersAreNotConflicts: a write whose first try committed and
// whose answer was lost is retried by the SDK; the retry must not report a
// conflict with that first try.
func TestLostAnswersAreNotConflicts(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		// The claim of a brand-new Idempotency-Key (the first PutItem).
		s := newStack(t, b, lost("PutItem", 0, 1))
		if r := s.createWithKey(`{"url":"https://example.com/k"}`, "fresh-key"); r.StatusCode != 201 {
			t.Errorf("create with a fresh key whose claim lost its answer: %d %s; want 201", r.StatusCode, r.Body)
		}
		s.assertState(1, 1)
		// A PATCH.
		s = newStack(t, b)
		id, _ := s.mustCreate(`{"url":"https://example.com/p"}`)
		patcher := s.withFaults(lost("UpdateItem", 0, 1))
		if r := patcher.call("PATCH", "/v1/webhooks/"+id, `{"max_retries":2}`); r.StatusCode != 200 || decode(t, r)["max_retries"] != float64(2) {
			t.Errorf("PATCH whose write lost its answer: %d %s; want 200", r.StatusCode, r.Body)
		}
		if n := attrNumber(t, s.webhookItems()[0]["version"]); n != 2 {
			t.Errorf("version %d after one update, want 2: the update was applied twice", n)
		}
		// The same, when the answer is replaced by an error the SDK does not
		// retry: the outcome is unknown, and a read-back finds the write.
		unexpected := func(op string) testenv.Fault {
			return testenv.Fault{Operation: op, Times: 1, AfterSend: true, Err: apiError("ValidationException")}
		}
		if r := s.withFaults(unexpected("UpdateItem")).call("PATCH", "/v1/webhooks/"+id, `{"max_retries":3}`); r.StatusCode != 200 ||
			decode(t, r)["max_retries"] != float64(3) {
			t.Errorf("PATCH whose answer was an unexpected error: %d %s; want 200", r.StatusCode, r.Body)
		}
		// A DELETE, both ways.
		deleter := s.withFaults(lost("TransactWriteItems", 0, 1))
		if r := deleter.call("DELETE", "/v1/webhooks/"+id, ""); r.StatusCode != 200 {
			t.Errorf("DELETE whose transaction lost its answer: %d %s; want 200", r.StatusCode, r.Body)
		}
		other, _ := s.mustCreate(`{"url":"https://example.com/q"}`)
		if r := s.withFaults(unexpected("TransactWriteItems")).call("DELETE", "/v1/webhooks/"+other, ""); r.StatusCode != 200 {
			t.Errorf("DELETE whose answer was an unexpected error: %d %s; want 200", r.StatusCode, r.Body)
		}
		s.assertState(0, 0)
		if got := len(s.secretChecks()); got != 0 {
			t.Errorf("%d secret checks left after the deletes", got)
		}
	})
}

func TestRotationIdempotency(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		id, _ := s.mustCreate(`{"url":"https://example.com/i"}`)
		first := s.do(s.rotateRequest(id, `{"grace_period_seconds":0}`, "rot-1"))
		if first.StatusCode != 200 || first.Headers["Idempotent-Replayed"] != "" {
			t.Fatalf("first rotation: %d %s", first.StatusCode, first.Body)
		}
		again := s.do(s.rotateRequest(id, `{"grace_period_seconds":0}`, "rot-1"))
		if again.StatusCode != 200 || again.Body != first.Body || again.Headers["Idempotent-Replayed"] != "true" ||
			again.Headers["Cache-Control"] != "no-store" {
			t.Errorf("replay = %d %v %s; want the first body, Idempotent-Replayed", again.StatusCode, again.Headers, again.Body)
		}
		if v := s.storedSecrets(id); v.SigningSecret != decode(t, first)["signing_secret"] || len(v.Previous) != 0 {
			t.Errorf("the replay rotated again: %d previous secrets", len(v.Previous))
		}
		for name, r := range map[string]events.APIGatewayV2HTTPResponse{
			"other grace period": s.do(s.rotateRequest(id, `{"grace_period_seconds":60}`, "rot-1")),
			"a create":           s.createWithKey(`{"url":"https://example.com/i"}`, "rot-1"),
		} {
			if e := errorOf(t, r); r.StatusCode != 400 || e["code"] != "idempotency_key_reused" {
				t.Errorf("the key reused for %s: %d %s; want 400 idempotency_key_reused", name, r.StatusCode, r.Body)
			}
		}
		// After another rotation the first rotation's secret is still held
		// (in its grace period of a second): the replay returns exactly it.
		if r := s.do(s.rotateRequest(id, `{"grace_period_seconds":1}`, "")); r.StatusCode != 200 {
			t.Fatal(r.Body)
		}
		if r := s.do(s.rotateRequest(id, `{"grace_period_seconds":0}`, "rot-1")); r.Body != first.Body {
			t.Errorf("replay after a rotation = %s; want the first response %s", r.Body, first.Body)
		}
		// Once that secret is no longer held, the replay says so and shows no secret.
		waitPastGrace(t, s, id)
		r := s.do(s.rotateRequest(id, `{"grace_period_seconds":0}`, "rot-1"))
		if e := errorOf(t, r); r.StatusCode != 410 || e["code"] != "idempotency_replay_unavailable" || e["type"] != "idempotency_error" ||
			strings.Contains(r.Body, "whsec_") {
			t.Errorf("replay once the secret is gone: %d %s; want 410 idempotency_replay_unavailable", r.StatusCode, r.Body)
		}
	})
}

// waitPastGrace waits until every earlier secret of webhook id has
// expired, as its stored expiry times say.
func waitPastGrace(t *testing.T, s *stack, id string) {
	t.Helper()
	for _, p := range s.storedSecrets(id).Previous {
		if d := time.Until(p.ExpiresAt); d > 0 {
			if d > 5*time.Second {
				t.Fatalf("an earlier secret expires in %v; the test uses grace periods of a second", d)
			}
			time.Sleep(d)
		}
	}
}

// TestCreateReplayNeverShowsALaterSecret: a replay of a create returns the
// secret the create returned while the webhook still holds it, and never
// the secret a later rotation made.
func TestCreateReplayNeverShowsALaterSecret(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		first := s.createWithKey(`{"url":"https://example.com/c"}`, "c-1")
		body := decode(t, first)
		id := body["id"].(string)
		if r := s.do(s.rotateRequest(id, `{"grace_period_seconds":1}`, "")); r.StatusCode != 200 {
			t.Fatal(r.Body)
		}
		if r := s.createWithKey(`{"url":"https://example.com/c"}`, "c-1"); r.StatusCode != 201 || r.Body != first.Body {
			t.Errorf("replay while the first secret is in its grace period: %d %s; want the first body", r.StatusCode, r.Body)
		}
		waitPastGrace(t, s, id)
		r := s.createWithKey(`{"url":"https://example.com/c"}`, "c-1")
		if e := errorOf(t, r); r.StatusCode != 410 || e["code"] != "idempotency_replay_unavailable" || strings.Contains(r.Body, "whsec_") {
			t.Errorf("replay once the first secret is gone: %d %s; want 410", r.StatusCode, r.Body)
		}
	})
}

// TestRacesEndInSuccessOr404Or409 runs rotations, updates and a delete of
// one webhook at once: every answer is a success, a 404 or a 409, never a 5xx.
func TestRacesEndInSuccessOr404Or409(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		for round := range 4 {
			id, _ := s.mustCreate(fmt.Sprintf(`{"url":"https://example.com/race/%d"}`, round))
			var wg sync.WaitGroup
			var mu sync.Mutex
			statuses := map[int]int{}
			record := func(r events.APIGatewayV2HTTPResponse) {
				mu.Lock()
				defer mu.Unlock()
				statuses[r.StatusCode]++
				if r.StatusCode >= 500 {
					t.Errorf("round %d: %d %s", round, r.StatusCode, r.Body)
				}
			}
			for i := range 6 {
				wg.Go(func() { record(s.do(s.rotateRequest(id, `{"grace_period_seconds":60}`, ""))) })
				wg.Go(func() { record(s.call("PATCH", "/v1/webhooks/"+id, fmt.Sprintf(`{"max_retries":%d}`, i))) })
			}
			wg.Go(func() { record(s.call("DELETE", "/v1/webhooks/"+id, "")) })
			wg.Wait()
			for status := range statuses {
				if status != 200 && status != 404 && status != 409 {
					t.Errorf("round %d: statuses %v; want only 200, 404 and 409", round, statuses)
				}
			}
		}
		// Whatever the order, every secret is gone once the janitor has run.
		s.runJanitor(t)
		s.assertState(0, 0)
	})
}

func TestThrottledDeleteIs503(t *testing.T) {
	throttled := &ddbtypes.TransactionCanceledException{Message: aws.String("injected"),
		CancellationReasons: []ddbtypes.CancellationReason{{Code: aws.String("ThrottlingError")}, {Code: aws.String("None")}, {Code: aws.String("None")}}}
	s := newStack(t, testenv.Kumo(t))
	id, _ := s.mustCreate(`{"url":"https://example.com/t"}`)
	deleter := s.withFaults(testenv.Fault{Operation: "TransactWriteItems", Err: throttled})
	r := deleter.call("DELETE", "/v1/webhooks/"+id, "")
	if r.StatusCode != 503 || r.Headers["Retry-After"] == "" {
		t.Errorf("throttled delete: %d %v %s; want 503 with Retry-After", r.StatusCode, r.Headers, r.Body)
	}
	s.assertState(1, 1)
}

// TestDamagedCounterDoesNotBlockDeletes removes and zeroes the account's
// count: deletes still work, and the count never goes below zero.
func TestDamagedCounterDoesNotBlockDeletes(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		a, _ := s.mustCreate(`{"url":"https://example.com/a"}`)
		c, _ := s.mustCreate(`{"url":"https://example.com/c"}`)
		counter := map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: tenantPK(s.owner)},
			"sk": &ddbtypes.AttributeValueMemberS{Value: counterSK},
		}
		if _, err := s.db.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: aws.String(s.cfg.TableName), Key: counter}); err != nil {
			t.Fatal(err)
		}
		if r := s.call("DELETE", "/v1/webhooks/"+a, ""); r.StatusCode != 200 {
			t.Errorf("delete with no count item: %d %s", r.StatusCode, r.Body)
		}
		counter[attrWebhookCount] = &ddbtypes.AttributeValueMemberN{Value: "0"}
		if _, err := s.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(s.cfg.TableName), Item: counter}); err != nil {
			t.Fatal(err)
		}
		if r := s.call("DELETE", "/v1/webhooks/"+c, ""); r.StatusCode != 200 {
			t.Errorf("delete with a count of 0: %d %s", r.StatusCode, r.Body)
		}
		s.assertState(0, 0)
	})
}
