package emulator

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// route passes SQS requests straight to h and every other request through
// one lock, one at a time. kumo's storage is not safe for every concurrent
// use (a concurrent GetSecretValue of one secret races on its
// last-accessed date), and DynamoDB's writes are isolated, so the emulator
// takes most requests one by one, as moto does in the tests. kumo's SQS
// storage takes its own lock around every read and change of a queue, so
// its requests are safe together; and a ReceiveMessage that waits would
// otherwise stall every other call for up to 20 s.
//
// One caveat remains in kumo v0.33.1: a ReceiveMessage answer is encoded
// after SQS's lock is released, from the stored message's attribute map.
// Another receive of the same message changes that map, which can only
// happen when the message is visible again that soon: on a queue whose
// visibility timeout is 0. The queues here have timeouts of seconds.
func route(h http.Handler) http.Handler {
	var mu sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isSQS(r) {
			h.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// maxQueryBody bounds how much of a form-encoded request isSQS reads to
// find its action: SQS's largest message (1 MiB) with room for encoding.
const maxQueryBody = 4 << 20

// sqsQueryActions are the SQS actions of the query protocol whose names
// no other service in the emulator shares.
var sqsQueryActions = map[string]bool{
	"ReceiveMessage": true, "SendMessage": true, "SendMessageBatch": true,
	"DeleteMessage": true, "DeleteMessageBatch": true, "ChangeMessageVisibility": true,
	"ChangeMessageVisibilityBatch": true, "PurgeQueue": true, "GetQueueUrl": true,
	"GetQueueAttributes": true, "SetQueueAttributes": true, "CreateQueue": true,
	"DeleteQueue": true, "ListQueues": true, "ListQueueTags": true,
	"ListDeadLetterSourceQueues": true,
}

// isSQS reports whether r is an SQS call: in the JSON protocol (the SDK's,
// and kumo's own EventBridge delivery) by its X-Amz-Target; else by the
// service in its signature's credential scope; else, for a form-encoded
// query-protocol call, by its QueueUrl or its action. Reading a form body
// leaves r.Body as it was.
func isSQS(r *http.Request) bool {
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.") {
		return true
	}
	if scopeService(r.Header.Get("Authorization")) == "sqs" {
		return true
	}
	if r.Method != http.MethodPost || r.Body == nil {
		return false
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxQueryBody))
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
	if err != nil {
		return false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return false
	}
	return form.Get("QueueUrl") != "" || sqsQueryActions[form.Get("Action")]
}

// scopeService returns the service of a SigV4 Authorization header's
// credential scope (Credential=KEY/DATE/REGION/SERVICE/aws4_request), or "".
func scopeService(auth string) string {
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
}
