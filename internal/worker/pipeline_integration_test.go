package worker_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// endpointCase is one endpoint of TestEveryEndpointGetsWhatItsSettingsSay.
type endpointCase struct {
	name     string
	answer   func(int, http.ResponseWriter)
	settings webhook.Settings
	url      string // defaults to the receiver's
	posts    int    // requests the receiver must get
	state    delivery.State
	attempts int
}

func retries(n int) webhook.Settings {
	return webhook.Settings{IsActive: true, RetryEnabled: true, MaxRetries: n}
}

// TestEveryEndpointGetsWhatItsSettingsSay publishes one event to an account
// whose endpoints answer in every way the issue lists, and checks what
// each receiver got, what was recorded, and that nothing is left over.
func TestEveryEndpointGetsWhatItsSettingsSay(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		h := newHarness(t, b, options{timeout: time.Second})
		fetched := newReceiver(t, statuses(200)) // a redirect's Location: never fetched
		noRetry := retries(5)
		noRetry.RetryEnabled = false
		cases := []endpointCase{
			{name: "2xx", answer: statuses(204), settings: retries(3), posts: 1, state: delivery.StateDelivered, attempts: 1},
			{name: "500 then 200", answer: statuses(500, 200), settings: retries(3), posts: 2, state: delivery.StateDelivered, attempts: 2},
			{name: "410", answer: statuses(410), settings: retries(3), posts: 1, state: delivery.StateFailed, attempts: 1},
			{name: "3xx", answer: func(_ int, w http.ResponseWriter) {
				w.Header().Set("Location", fetched.srv.URL)
				w.WriteHeader(http.StatusFound)
			}, settings: retries(1), posts: 2, state: delivery.StateFailed, attempts: 2},
			{name: "too slow", answer: func(_ int, w http.ResponseWriter) { time.Sleep(3 * time.Second) },
				settings: retries(0), posts: 1, state: delivery.StateFailed, attempts: 1},
			{name: "huge response", answer: func(_ int, w http.ResponseWriter) {
				w.WriteHeader(200)
				chunk := []byte(strings.Repeat("x", 1<<16))
				for range 160 { // 10 MiB
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			}, settings: retries(0), posts: 1, state: delivery.StateDelivered, attempts: 1},
			{name: "retries off", answer: statuses(500), settings: noRetry, posts: 1, state: delivery.StateFailed, attempts: 1},
			{name: "max_retries 0", answer: statuses(500), settings: retries(0), posts: 1, state: delivery.StateFailed, attempts: 1},
			{name: "max_retries 3", answer: statuses(500), settings: retries(3), posts: 4, state: delivery.StateFailed, attempts: 4},
			{name: "refused address", settings: retries(2), url: "https://10.255.255.1/hook", posts: 0, state: delivery.StateFailed, attempts: 3},
		}
		type endpoint struct {
			c      endpointCase
			r      *receiver
			w      webhook.Webhook
			secret string
		}
		var eps []endpoint
		for _, c := range cases {
			e := endpoint{c: c}
			url := c.url
			if c.answer != nil {
				e.r = newReceiver(t, c.answer)
				url = e.r.srv.URL + "/hook"
			}
			e.w, e.secret = h.webhookFor(h.owner, url, c.settings)
			eps = append(eps, e)
		}
		// Endpoints that must get nothing: inactive, subscribed to other
		// events, another account's, the same account's live mode.
		silent := newReceiver(t, statuses(200))
		inactive := retries(3)
		inactive.IsActive = false
		other := retries(3)
		other.Events = []webhook.EventType{webhook.DocumentProcessingFailed}
		h.webhookFor(h.owner, silent.srv.URL, inactive)
		h.webhookFor(h.owner, silent.srv.URL, other)
		h.webhookFor(tenant.Tenant{Account: testenv.Unique("acct_"), Mode: tenant.Test}, silent.srv.URL, retries(3))
		h.webhookFor(tenant.Tenant{Account: h.owner.Account, Mode: tenant.Live}, silent.srv.URL, retries(3))

		eventID, at := h.publish(h.owner, webhook.DocumentUploaded, testenv.Unique("evt_"))
		var payload []byte
		for _, e := range eps {
			st := h.final(e.w, eventID, at)
			if st.State != e.c.state || st.Attempts != e.c.attempts {
				t.Errorf("%s: %s after %d attempts, want %s after %d", e.c.name, st.State, st.Attempts, e.c.state, e.c.attempts)
			}
			if e.r == nil {
				continue
			}
			hits := e.r.got()
			if len(hits) != e.c.posts {
				t.Errorf("%s: %d requests, want %d", e.c.name, len(hits), e.c.posts)
			}
			if len(hits) > 0 && payload == nil {
				payload = hits[0].body
			}
			verify(t, hits, e.secret, delivery.DeliveryID(eventID, e.w.ID, at), payload)
		}
		// The envelope is the service's; data is as EventBridge handed it
		// on (kumo escapes <>&, moto adds spaces: both re-encode a
		// Detail), and every endpoint got the same bytes (verify).
		head := `{"id":"` + eventID + `","type":"document.uploaded","timestamp":"` + at.Format(time.RFC3339) + `","livemode":false,"data":`
		var data struct {
			DocumentID string `json:"document_id"`
			Note       string `json:"note"`
		}
		if !strings.HasPrefix(string(payload), head) || json.Unmarshal(payload[len(head):len(payload)-1], &data) != nil ||
			data.DocumentID != "doc_1" || data.Note != "<&>" {
			t.Errorf("payload %s, want %s{...document_id doc_1, note <&>}", payload, head)
		}
		if n := len(fetched.got()); n != 0 {
			t.Errorf("a redirect's Location was fetched %d times", n)
		}
		h.drained()
		if n := len(silent.got()); n != 0 {
			t.Errorf("inactive, unsubscribed, other-account or other-mode endpoints got %d requests", n)
		}
		gone, err := h.store.Get(t.Context(), h.owner, eps[2].w.ID)
		if err != nil || gone.IsActive || gone.Health.DisabledReason != delivery.ReasonGone {
			t.Errorf("after 410: active=%v reason=%q (%v)", gone.IsActive, gone.Health.DisabledReason, err)
		}
	})
}
