package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// seeded is a delivery written as the pipeline writes one.
type seeded struct {
	msg     delivery.Message
	payload string
}

// seedDelivery stores an event of typ at at and records the attempts the
// deliverer would, one per status: every status but the last failed and
// left the delivery pending; the last decides its state.
func (s *stack) seedDelivery(webhookID, eventID string, typ webhook.EventType, at time.Time, statuses ...int) seeded {
	s.t.Helper()
	ctx := context.Background()
	store := s.store()
	payload := fmt.Sprintf(`{"id":%q,"type":%q,"timestamp":%q,"livemode":false,"data":{"document_id": "doc_1"}}`, eventID, typ, at.Format(time.RFC3339))
	ev := delivery.Event{ID: eventID, Type: typ, Owner: s.owner, Time: at, SourceID: "src-" + eventID, Payload: []byte(payload)}
	if _, err := store.Keep(ctx, ev, time.Now().Add(time.Hour)); err != nil {
		s.t.Fatal(err)
	}
	m := delivery.Message{DeliveryID: delivery.DeliveryID(eventID, webhookID, at), EventID: eventID, EventType: typ, EventTime: at,
		Account: s.owner.Account, Mode: s.owner.Mode, WebhookID: webhookID, Payload: ev.Payload}
	for i, status := range statuses {
		now := time.Now().UTC()
		r := delivery.Record{Message: m, Attempts: i + 1, Prior: i, Claim: "sqs-" + eventID, At: now, Expires: now.Add(time.Hour),
			Attempt: &delivery.Attempt{DeliveryID: m.DeliveryID, EventID: eventID, EventType: string(typ), Owner: s.owner,
				WebhookID: webhookID, URL: "https://example.com/hook", Number: i + 1, At: now,
				Response: delivery.Response{Status: status, Body: []byte("answer " + strconv.Itoa(i+1)), Duration: 15 * time.Millisecond}}}
		switch {
		case i < len(statuses)-1:
			r.State, r.NextAttemptAt, r.ClaimedUntil = delivery.StatePending, now, now.Add(delivery.LeaseSlack)
		case status < 300:
			r.State = delivery.StateDelivered
		default:
			r.State, r.Reason = delivery.StateFailed, delivery.ReasonExhausted
		}
		// As the deliverer does: the attempt is begun, then recorded.
		if err := store.Begin(ctx, delivery.Begin{Message: m, Number: i + 1, Prior: i, Claim: r.Claim, At: now,
			Until: now.Add(time.Minute), ClaimedUntil: now.Add(delivery.LeaseSlack), Expires: r.Expires}); err != nil {
			s.t.Fatal(err)
		}
		if _, err := store.Save(ctx, r); err != nil {
			s.t.Fatal(err)
		}
	}
	return seeded{msg: m, payload: payload}
}

// awaitIndexed waits until the events index, which DynamoDB updates
// after the write (as the emulators may), holds n of the owner's events
// from since on.
func (s *stack) awaitIndexed(since time.Time, n int) {
	s.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		evs, _, err := s.store().Events(context.Background(), s.owner, since, time.Now().Add(time.Minute), "", n+1)
		if err == nil && len(evs) >= n {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the events index holds %d events, want %d (%v)", len(evs), n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// queued counts the messages in the stack's delivery queue.
func (s *stack) queued() int {
	s.t.Helper()
	out, err := s.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(s.cfg.DeliveryQueueURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil {
		s.t.Fatal(err)
	}
	n, _ := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	return n
}

// post sends a POST with the stack's key, a JSON body and an
// Idempotency-Key when key is not "".
func (s *stack) post(path, body, key string) map[string]any {
	s.t.Helper()
	h := map[string]string{"Authorization": "Bearer " + s.key, "Content-Type": "application/json"}
	if key != "" {
		h["Idempotency-Key"] = key
	}
	r := s.do(request("POST", path, body, h))
	out := map[string]any{}
	if err := json.Unmarshal([]byte(r.Body), &out); err != nil {
		s.t.Fatalf("POST %s: %v: %s", path, err, r.Body)
	}
	out["_status"] = float64(r.StatusCode)
	out["_replayed"] = r.Headers["Idempotent-Replayed"]
	return out
}

func TestDeliveriesListAndRetrieve(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		id, _ := s.mustCreate(`{"url":"https://example.com/hook"}`)
		base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		first := s.seedDelivery(id, "evt_1", webhook.DocumentUploaded, base, 500, 204)
		second := s.seedDelivery(id, "evt_2", webhook.DocumentProcessingFailed, base.Add(time.Minute), 500)
		third := s.seedDelivery(id, "evt_3", webhook.DocumentUploaded, base.Add(2*time.Minute), 200)
		path := "/v1/webhooks/" + id + "/deliveries"

		list := func(q map[string]string) map[string]any {
			req := request("GET", path, "", map[string]string{"Authorization": "Bearer " + s.key})
			req.QueryStringParameters = q
			r := s.do(req)
			if r.StatusCode != 200 {
				t.Fatalf("list %v: %d %s", q, r.StatusCode, r.Body)
			}
			return decode(t, r)
		}
		ids := func(page map[string]any) []string {
			var out []string
			for _, d := range page["data"].([]any) {
				out = append(out, d.(map[string]any)["id"].(string))
			}
			return out
		}
		page := list(map[string]string{"limit": "2"})
		if got := ids(page); len(got) != 2 || got[0] != third.msg.DeliveryID || got[1] != second.msg.DeliveryID || page["has_more"] != true {
			t.Fatalf("first page %v, has_more %v; want the two newest", got, page["has_more"])
		}
		page = list(map[string]string{"limit": "2", "starting_after": page["next_starting_after"].(string)})
		if got := ids(page); len(got) != 1 || got[0] != first.msg.DeliveryID || page["has_more"] != false || page["next_starting_after"] != nil {
			t.Fatalf("second page %v, has_more %v", got, page["has_more"])
		}
		if got := ids(list(map[string]string{"state": "failed"})); len(got) != 1 || got[0] != second.msg.DeliveryID {
			t.Fatalf("state=failed: %v", got)
		}
		if got := ids(list(map[string]string{"event_type": "document.uploaded"})); len(got) != 2 {
			t.Fatalf("event_type=document.uploaded: %v", got)
		}
		if got := ids(list(map[string]string{"event_id": "evt_2"})); len(got) != 1 || got[0] != second.msg.DeliveryID {
			t.Fatalf("event_id=evt_2: %v", got)
		}
		for _, q := range []map[string]string{{"event_id": "evt_9"}, {"event_id": "evt_2", "state": "delivered"}, {"event_id": strings.Repeat("e", 2000)}} {
			if got := ids(list(q)); len(got) != 0 {
				t.Fatalf("%v: %v, want none", q, got)
			}
		}
		window := map[string]string{"since": base.Add(30 * time.Second).Format(time.RFC3339), "until": base.Add(90 * time.Second).Format(time.RFC3339)}
		if got := ids(list(window)); len(got) != 1 || got[0] != second.msg.DeliveryID {
			t.Fatalf("since/until: %v", got)
		}

		r := s.call("GET", path+"/"+first.msg.DeliveryID, "")
		d := decode(t, r)
		attempts, _ := d["attempts"].([]any)
		if r.StatusCode != 200 || d["state"] != "delivered" || d["attempt_count"] != float64(2) || len(attempts) != 2 || d["payload"] != first.payload {
			t.Fatalf("retrieve: %d %s", r.StatusCode, r.Body)
		}
		for i, want := range []float64{500, 204} {
			a := attempts[i].(map[string]any)
			if a["number"] != float64(i+1) || a["status"] != want || a["response_body"] != "answer "+strconv.Itoa(i+1) || a["error"] != nil {
				t.Fatalf("attempt %d: %v", i+1, a)
			}
		}
		hook := decode(t, s.call("GET", "/v1/webhooks/"+id, ""))
		if last, _ := hook["last_delivery"].(map[string]any); last["id"] != third.msg.DeliveryID || last["state"] != "delivered" {
			t.Fatalf("webhook health: %v", hook)
		}
		if r := s.call("GET", path+"/"+delivery.DeliveryID("evt_9", id, base), ""); r.StatusCode != 404 || errorOf(t, r)["param"] != "delivery_id" {
			t.Fatalf("unknown delivery: %d %s", r.StatusCode, r.Body)
		}
	})
}

func TestRetryTestAndRecoverQueueSends(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		id, _ := s.mustCreate(`{"url":"https://example.com/hook","events":["document.uploaded"]}`)
		base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		done := s.seedDelivery(id, "evt_1", webhook.DocumentUploaded, base, 204)
		retry := "/v1/webhooks/" + id + "/deliveries/" + done.msg.DeliveryID + "/retry"

		r := s.post(retry, "", "retry-1")
		if r["_status"] != float64(202) || r["state"] != "pending" || r["id"] != done.msg.DeliveryID || s.queued() != 1 {
			t.Fatalf("retry: %v, %d queued", r, s.queued())
		}
		if again := s.post(retry, "", "retry-1"); again["_status"] != float64(202) || again["_replayed"] != "true" || s.queued() != 1 {
			t.Fatalf("retry replayed: %v, %d queued", again, s.queued())
		}
		if busy := s.post(retry, "", ""); busy["_status"] != float64(409) || busy["error"].(map[string]any)["code"] != "delivery_in_progress" {
			t.Fatalf("retry while the first is due: %v", busy)
		}

		test := s.post("/v1/webhooks/"+id+"/test", `{"type":"document.processing.failed"}`, "")
		if test["_status"] != float64(202) || test["test"] != true || test["state"] != "pending" || s.queued() != 2 {
			t.Fatalf("test: %v, %d queued", test, s.queued())
		}

		// An outage: while the webhook is disabled, two events it never
		// got and one of a type it does not take; then it is re-enabled,
		// most often in the same second as the events.
		if r := s.call("PATCH", "/v1/webhooks/"+id, `{"is_active":false}`); r.StatusCode != 200 {
			t.Fatalf("disable: %d %s", r.StatusCode, r.Body)
		}
		made := time.Now().UTC()
		for i, typ := range []webhook.EventType{webhook.DocumentUploaded, webhook.DocumentUploaded, webhook.DocumentProcessingFailed} {
			at := made.Add(time.Duration(i) * time.Millisecond)
			ev := delivery.Event{ID: fmt.Sprintf("evt_missed_%d", i), Type: typ, Owner: s.owner, Time: at, SourceID: "src", Payload: []byte(`{}`)}
			if _, err := s.store().Keep(context.Background(), ev, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		if r := s.call("PATCH", "/v1/webhooks/"+id, `{"is_active":true}`); r.StatusCode != 200 {
			t.Fatalf("re-enable: %d %s", r.StatusCode, r.Body)
		}
		s.awaitIndexed(made, 3)
		body := fmt.Sprintf(`{"since":%q}`, base.Add(-time.Minute).Format(time.RFC3339))
		rec := s.post("/v1/webhooks/"+id+"/recover", body, "recover-1")
		if rec["_status"] != float64(202) || rec["queued"] != float64(2) || rec["has_more"] != false || s.queued() != 4 {
			t.Fatalf("recover: %v, %d queued", rec, s.queued())
		}
		if again := s.post("/v1/webhooks/"+id+"/recover", body, "recover-1"); again["_replayed"] != "true" || again["queued"] != float64(2) || s.queued() != 4 {
			t.Fatalf("recover replayed: %v, %d queued", again, s.queued())
		}
		if reused := s.post("/v1/webhooks/"+id+"/recover", `{"since":"`+base.Format(time.RFC3339)+`"}`, "recover-1"); reused["_status"] != float64(400) {
			t.Fatalf("an Idempotency-Key reused with another window: %v", reused)
		}

		if r := s.call("PATCH", "/v1/webhooks/"+id, `{"is_active":false}`); r.StatusCode != 200 {
			t.Fatalf("disable: %d %s", r.StatusCode, r.Body)
		}
		for _, c := range []struct{ path, body string }{
			{retry, ""},
			{"/v1/webhooks/" + id + "/test", `{"type":"document.uploaded"}`},
			{"/v1/webhooks/" + id + "/recover", body},
		} {
			if got := s.post(c.path, c.body, ""); got["_status"] != float64(409) || got["error"].(map[string]any)["code"] != "webhook_disabled" {
				t.Fatalf("POST %s on a disabled webhook: %v", c.path, got)
			}
		}
		if s.queued() != 4 {
			t.Fatalf("refused sends queued messages: %d", s.queued())
		}
	})
}

func TestDeliveryRoutesAre404ForOtherTenants(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		id, _ := s.mustCreate(`{"url":"https://example.com/hook"}`)
		d := s.seedDelivery(id, "evt_1", webhook.DocumentUploaded, time.Now().UTC().Add(-time.Minute), 500)
		since := fmt.Sprintf(`{"since":%q}`, time.Now().UTC().Add(-time.Hour).Format(time.RFC3339))
		others := map[string]string{
			"other account": s.keyFor(tenant.Tenant{Account: testenv.Unique("acct_"), Mode: tenant.Test}),
			"live mode":     s.keyFor(tenant.Tenant{Account: s.owner.Account, Mode: tenant.Live}),
		}
		for name, key := range others {
			for _, c := range []struct{ method, path, body string }{
				{"GET", "/v1/webhooks/" + id + "/deliveries", ""},
				{"GET", "/v1/webhooks/" + id + "/deliveries/" + d.msg.DeliveryID, ""},
				{"POST", "/v1/webhooks/" + id + "/deliveries/" + d.msg.DeliveryID + "/retry", ""},
				{"POST", "/v1/webhooks/" + id + "/recover", since},
				{"POST", "/v1/webhooks/" + id + "/test", `{"type":"document.uploaded"}`},
			} {
				r := s.callAs(key, c.method, c.path, c.body)
				if r.StatusCode != 404 || errorOf(t, r)["code"] != "resource_missing" {
					t.Errorf("%s: %s %s = %d %s; want 404", name, c.method, c.path, r.StatusCode, r.Body)
				}
			}
		}
		if s.queued() != 0 {
			t.Fatalf("another tenant queued %d sends", s.queued())
		}
	})
}

func TestDeliveryRoutesRejectBadInput(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		id, _ := s.mustCreate(`{"url":"https://example.com/hook"}`)
		old := time.Now().UTC().Add(-delivery.RecoverWindow - time.Hour).Format(time.RFC3339)
		recent := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
		for _, c := range []struct {
			method, path, body string
			query              map[string]string
			param, code        string
		}{
			{"GET", "/deliveries", "", map[string]string{"state": "lost"}, "state", "state_invalid"},
			{"GET", "/deliveries", "", map[string]string{"event_type": "document.archived"}, "event_type", "event_unknown"},
			{"GET", "/deliveries", "", map[string]string{"since": "yesterday"}, "since", "since_invalid"},
			{"GET", "/deliveries", "", map[string]string{"starting_after": "wh_1"}, "starting_after", "starting_after_invalid"},
			{"GET", "/deliveries", "", map[string]string{"limit": "0"}, "limit", "limit_invalid"},
			{"GET", "/deliveries", "", map[string]string{"color": "red"}, "color", "parameter_unknown"},
			{"GET", "/deliveries/msg_nope", "", nil, "delivery_id", "resource_missing"},
			{"POST", "/deliveries/msg_nope/retry", "", nil, "delivery_id", "resource_missing"},
			{"POST", "/deliveries/msg_nope/retry", `{"now":true}`, nil, "now", "parameter_unknown"},
			{"POST", "/recover", `{}`, nil, "since", "parameter_missing"},
			{"POST", "/recover", `{"since":"` + old + `"}`, nil, "since", "since_invalid"},
			{"POST", "/recover", `{"since":1}`, nil, "since", "parameter_invalid_type"},
			{"POST", "/recover", `{"since":"` + recent + `","until":"` + old + `"}`, nil, "until", "until_invalid"},
			{"POST", "/test", `{}`, nil, "type", "parameter_missing"},
			{"POST", "/test", `{"type":"document.archived"}`, nil, "type", "event_unknown"},
		} {
			h := map[string]string{"Authorization": "Bearer " + s.key}
			if c.body != "" {
				h["Content-Type"] = "application/json"
			}
			req := request(c.method, "/v1/webhooks/"+id+c.path, c.body, h)
			req.QueryStringParameters = c.query
			r := s.do(req)
			if r.StatusCode < 400 || r.StatusCode >= 500 {
				t.Errorf("%s %s %v %s: %d %s; want a 4xx", c.method, c.path, c.query, c.body, r.StatusCode, r.Body)
				continue
			}
			e := errorOf(t, r)
			if c.code != "" && (e["code"] != c.code || e["param"] != c.param) {
				t.Errorf("%s %s %v %s: %s; want %s on %s", c.method, c.path, c.query, c.body, r.Body, c.code, c.param)
			}
		}
		if s.queued() != 0 {
			t.Fatalf("rejected requests queued %d sends", s.queued())
		}
		var items int
		for _, it := range s.rawTable() {
			if pk := attrString(it["pk"]); len(pk) > 9 && pk[:9] == "ENDPOINT#" {
				items++
			}
		}
		if items != 0 {
			t.Fatalf("rejected requests wrote %d delivery items", items)
		}
	})
}

func TestManualSendsOverTheRateAre429(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		id, _ := s.mustCreate(`{"url":"https://example.com/hook"}`)
		// The webhook's counts of this minute and the next are full (the
		// layout written out here, independently of the dynamo package).
		now := time.Now().UTC().Truncate(time.Minute)
		for _, m := range []time.Time{now, now.Add(time.Minute)} {
			_, err := s.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(s.cfg.TableName),
				Item: map[string]ddbtypes.AttributeValue{
					"pk":   &ddbtypes.AttributeValueMemberS{Value: "ENDPOINT#" + id},
					"sk":   &ddbtypes.AttributeValueMemberS{Value: "SENDS#" + strconv.FormatInt(m.Unix()/60, 10)},
					"sent": &ddbtypes.AttributeValueMemberN{Value: strconv.Itoa(delivery.SendsPerMinute)},
				}})
			if err != nil {
				t.Fatal(err)
			}
		}
		r := s.do(request("POST", "/v1/webhooks/"+id+"/test", `{"type":"document.uploaded"}`,
			map[string]string{"Authorization": "Bearer " + s.key, "Content-Type": "application/json"}))
		wait, _ := strconv.Atoi(r.Headers["Retry-After"])
		if r.StatusCode != 429 || errorOf(t, r)["code"] != "rate_limited" || wait < 1 || wait > 60 {
			t.Fatalf("a test over the rate: %d %v %s", r.StatusCode, r.Headers, r.Body)
		}
		if s.queued() != 0 {
			t.Fatalf("a refused send queued %d messages", s.queued())
		}
	})
}
