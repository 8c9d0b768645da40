package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/apikey"
	"github.com/docproc/webhooks/internal/app"
	"github.com/docproc/webhooks/internal/config"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/webhook"
)

// customer calls the API over the harness's table and delivery queue, as
// the harness's owner: the routes a customer uses to see and steer
// deliveries.
type customer struct {
	h       *harness
	key     string
	handler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
}

// newCustomer builds the real API handler over h and an API key of h's
// owner.
func newCustomer(h *harness) *customer {
	h.t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{h.t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	parts := app.New(config.APIFunction{TableName: h.table, SecretNamePrefix: testenv.Unique("webhooks/api-"),
		DeliveryQueueURL: h.res.Delivery().URL, Retention: time.Hour,
		AllowedDestinations: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, h.cfg, log, io.Discard)
	key, err := apikey.Issue(context.Background(), h.store, h.owner, time.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	return &customer{h: h, key: key.Raw(), handler: parts.Handler.Handle}
}

// call sends method path with body, and decodes the answer into out. It
// fails the test unless the status is want.
func (c *customer) call(method, path, body string, want int, out any) {
	c.h.t.Helper()
	req := events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: path,
		Headers: map[string]string{"authorization": "Bearer " + c.key, "content-type": "application/json"}, Body: body}
	req.RequestContext.HTTP.Method, req.RequestContext.HTTP.Path = method, path
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := c.handler(ctx, req)
	if err != nil || resp.StatusCode != want {
		c.h.t.Fatalf("%s %s: %d %s, %v; want %d", method, path, resp.StatusCode, resp.Body, err, want)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(resp.Body), out); err != nil {
			c.h.t.Fatalf("%s %s: %v: %s", method, path, err, resp.Body)
		}
	}
}

// attemptView is an attempt as GET .../deliveries/{id} shows it.
type attemptView struct {
	Number       int     `json:"number"`
	Status       *int    `json:"status"`
	ResponseBody *string `json:"response_body"`
}

// deliveryView is a delivery as the API shows it.
type deliveryView struct {
	ID           string        `json:"id"`
	State        string        `json:"state"`
	Test         bool          `json:"test"`
	AttemptCount int           `json:"attempt_count"`
	Attempts     []attemptView `json:"attempts"`
	Payload      *string       `json:"payload"`
	// NextAttemptAt and LastAttemptAt are null while there is none.
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
}

// delivery reads delivery id of w through the API.
func (c *customer) delivery(w webhook.Webhook, id string) deliveryView {
	c.h.t.Helper()
	var d deliveryView
	c.call("GET", "/v1/webhooks/"+w.ID+"/deliveries/"+id, "", http.StatusOK, &d)
	return d
}

// webhookMadeAt creates a webhook of h's owner for url, as if at at.
func (h *harness) webhookMadeAt(at time.Time, url string, s webhook.Settings) webhook.Webhook {
	h.t.Helper()
	h.madeAt = at
	defer func() { h.madeAt = time.Time{} }()
	w, _ := h.webhookFor(h.owner, url, s)
	return w
}

// answerWith answers the n-th request with codes[n-1] (the last
// repeating) and a body that names n.
func answerWith(codes ...int) func(int, http.ResponseWriter) {
	return func(n int, w http.ResponseWriter) {
		w.WriteHeader(codes[min(n, len(codes))-1])
		fmt.Fprintf(w, "answer %d", n)
	}
}

// TestHistoryMatchesWhatTheReceiverSaw checks the API's record of a
// delivery against the receiver's, attempt for attempt.
func TestHistoryMatchesWhatTheReceiverSaw(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		h := newHarness(t, b, options{})
		c := newCustomer(h)
		r := newReceiver(t, answerWith(500, 503, 200))
		w, secret := h.webhookFor(h.owner, r.srv.URL, retries(5))
		id, at := h.publish(h.owner, webhook.DocumentUploaded, "evt_history")
		h.final(w, id, at)
		h.drained()
		d := c.delivery(w, delivery.DeliveryID(id, w.ID, at))
		hits := r.got()
		if d.State != "delivered" || d.AttemptCount != 3 || len(d.Attempts) != len(hits) || d.Payload == nil {
			t.Fatalf("history %+v; the receiver got %d requests", d, len(hits))
		}
		for i, a := range d.Attempts {
			want := []int{500, 503, 200}[i]
			if a.Number != i+1 || a.Status == nil || *a.Status != want || a.ResponseBody == nil || *a.ResponseBody != fmt.Sprintf("answer %d", i+1) {
				t.Errorf("attempt %d: %+v; the receiver answered %d, %q", i+1, a, want, fmt.Sprintf("answer %d", i+1))
			}
		}
		verify(t, hits, secret, d.ID, []byte(*d.Payload))
	})
}

// TestRetryOfADeliveredEventPostsOnceMore checks that a retry through
// the API gives exactly one more request, with the same webhook-id.
func TestRetryOfADeliveredEventPostsOnceMore(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		h := newHarness(t, b, options{})
		c := newCustomer(h)
		r := newReceiver(t, statuses(200))
		w, secret := h.webhookFor(h.owner, r.srv.URL, retries(3))
		id, at := h.publish(h.owner, webhook.DocumentUploaded, "evt_retry")
		h.final(w, id, at)
		did := delivery.DeliveryID(id, w.ID, at)
		var queued deliveryView
		c.call("POST", "/v1/webhooks/"+w.ID+"/deliveries/"+did+"/retry", "", http.StatusAccepted, &queued)
		if queued.State != "pending" || queued.ID != did {
			t.Fatalf("retry answered %+v", queued)
		}
		h.eventually(func() bool { return len(r.got()) >= 2 }, func() string { return fmt.Sprintf("%d requests", len(r.got())) })
		h.final(w, id, at)
		h.drained()
		hits := r.got()
		if len(hits) != 2 {
			t.Fatalf("the receiver got %d requests, want 2", len(hits))
		}
		d := c.delivery(w, did)
		verify(t, hits, secret, did, []byte(*d.Payload))
		if d.State != "delivered" || d.AttemptCount != 2 {
			t.Fatalf("after the retry: %+v", d)
		}
	})
}

// TestRecoverAfterAnOutage disables an endpoint for 30 seconds of events,
// re-enables it and recovers the window: exactly the events it missed
// arrive, once each, and none it had.
func TestRecoverAfterAnOutage(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		h := newHarness(t, b, options{})
		c := newCustomer(h)
		r := newReceiver(t, statuses(200))
		// The webhook was made a minute ago, and its story is told in
		// event time from then on: an event delivered, then 30 seconds of
		// outage with an event every 10 seconds.
		start := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
		w := h.webhookMadeAt(start, r.srv.URL, retries(3))
		before, beforeAt := h.publishAt(h.owner, webhook.DocumentUploaded, "evt_before", start.Add(5*time.Second))
		h.final(w, before, beforeAt)
		c.call("PATCH", "/v1/webhooks/"+w.ID, `{"is_active":false}`, http.StatusOK, nil)
		var missed []string
		for i := range 4 {
			id := fmt.Sprintf("evt_missed_%d", i)
			h.publishAt(h.owner, webhook.DocumentUploaded, id, start.Add(time.Duration(10+10*i)*time.Second))
			missed = append(missed, id)
		}
		h.drained()
		if n := len(r.got()); n != 1 {
			t.Fatalf("the disabled endpoint got %d requests, want 1 (before the outage)", n)
		}
		// The re-enable may come in the same second as the last event
		// (kumo stamps them now): a recovery sends that one too.
		c.call("PATCH", "/v1/webhooks/"+w.ID, `{"is_active":true}`, http.StatusOK, nil)
		// DynamoDB updates the events index after the write; a recovery
		// sees an event once it is there.
		h.eventually(func() bool {
			evs, _, err := h.store.Events(context.Background(), h.owner, start, time.Now().Add(time.Minute), "", 10)
			return err == nil && len(evs) == 1+len(missed)
		}, func() string { return "the events index does not hold every event" })
		var rec struct {
			Queued     int      `json:"queued"`
			Deliveries []string `json:"deliveries"`
			HasMore    bool     `json:"has_more"`
		}
		c.call("POST", "/v1/webhooks/"+w.ID+"/recover", fmt.Sprintf(`{"since":%q}`, start.Format(time.RFC3339)), http.StatusAccepted, &rec)
		if rec.Queued != len(missed) || rec.HasMore {
			t.Fatalf("recover queued %+v, want the %d missed events", rec, len(missed))
		}
		h.eventually(func() bool { return len(r.got()) >= 1+len(missed) }, func() string { return fmt.Sprintf("%d requests", len(r.got())) })
		h.drained()
		got := map[string]int{}
		for _, x := range r.got() {
			var body struct{ ID string }
			if err := json.Unmarshal(x.body, &body); err != nil {
				t.Fatal(err)
			}
			got[body.ID]++
		}
		if len(got) != 1+len(missed) || got[before] != 1 {
			t.Fatalf("requests by event %v; want %s and each missed event once", got, before)
		}
		for _, id := range missed {
			if got[id] != 1 {
				t.Fatalf("requests by event %v; want each missed event once", got)
			}
		}
	})
}

// TestTestEventArrivesSigned sends a test event through the API and the
// pipeline, and checks it with the official library.
func TestTestEventArrivesSigned(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		h := newHarness(t, b, options{})
		c := newCustomer(h)
		r := newReceiver(t, statuses(204))
		w, secret := h.webhookFor(h.owner, r.srv.URL, retries(3))
		var queued deliveryView
		c.call("POST", "/v1/webhooks/"+w.ID+"/test", `{"type":"document.processing.failed"}`, http.StatusAccepted, &queued)
		if !queued.Test || queued.State != "pending" {
			t.Fatalf("test answered %+v", queued)
		}
		h.eventually(func() bool { return c.delivery(w, queued.ID).State == "delivered" },
			func() string { return fmt.Sprintf("%+v", c.delivery(w, queued.ID)) })
		h.drained()
		hits := r.got()
		d := c.delivery(w, queued.ID)
		if len(hits) != 1 || !strings.Contains(*d.Payload, `"test":true`) || !strings.Contains(*d.Payload, `"type":"document.processing.failed"`) {
			t.Fatalf("the receiver got %d requests; payload %s", len(hits), *d.Payload)
		}
		verify(t, hits, secret, queued.ID, []byte(*d.Payload))
	})
}
