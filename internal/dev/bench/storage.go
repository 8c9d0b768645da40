package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/docproc/webhooks/internal/awsconf/chain"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/local/devstack"
	"github.com/docproc/webhooks/internal/dev/samtemplate"
	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/secrets"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// StorageCase is one shape of event whose stored items are measured.
type StorageCase struct {
	// Name names the case in the report.
	Name string
	// Events is how many events are published.
	Events int
	// DataBytes is the size of each event's data, as the delivery runs
	// publish it (PayloadBytes); DetailBytes, when set, is instead the
	// size of the whole detail (the platform's event), at most
	// delivery.MaxDetailBytes.
	DataBytes, DetailBytes int
	// EventIDBytes is the length of the platform's event id.
	EventIDBytes int
	// AccountBytes is the length of the account id.
	AccountBytes int
	// URLBytes is the length of the endpoint's URL (0: the receiver's
	// short one).
	URLBytes int
	// ResponseBytes is the size of the endpoint's answer body (0: 204).
	ResponseBytes int
}

// StorageCases are the cases `go run ./cmd/bench -only storage`
// measures: 1 KiB of data, as the delivery runs publish, answered with an
// empty 204; and the largest items the service writes: a 64 KiB detail,
// the longest event id, account id and URL, and an answer longer than
// the 1 KiB response prefix kept.
var StorageCases = []StorageCase{
	{Name: "typical", Events: 20, DataBytes: 1024, EventIDBytes: 30, AccountBytes: 12},
	{Name: "worst", Events: 5, DetailBytes: delivery.MaxDetailBytes, EventIDBytes: delivery.MaxEventIDLen,
		AccountBytes: tenant.MaxAccountLen, URLBytes: webhook.MaxURLLength, ResponseBytes: 4 * delivery.MaxResponsePrefix},
}

// StoredItem is the size of one kind of item one event left, by
// DynamoDB's item size rules, without the 100 bytes of per-item overhead.
type StoredItem struct {
	// Kind is the item's type attribute: event, delivery or attempt.
	Kind string
	// Bytes is the largest size seen of the kind.
	Bytes int
	// IndexBytes is the largest size seen of the kind's entries in the
	// table's global secondary indexes, by each index's projection; 0 when
	// the kind is in none.
	IndexBytes int
}

// StorageResult is what one case measured.
type StorageResult struct {
	Case StorageCase
	// Payload is the size of the body delivered.
	Payload int
	// Items are the event, delivery and attempt items, in that order.
	Items []StoredItem
	// Writes counts the write calls the fan-out and delivery functions
	// made per event, by operation.
	Writes map[string]float64
}

// Storage publishes each case's events through the pipeline on the
// emulator (PutEvents, the rule, the fan-out and delivery handlers of
// internal/app on pollers, an HTTPS receiver), then reads back every item
// the events left in the table and sizes it by DynamoDB's rules.
func Storage(ctx context.Context, o DeliveryOptions, out io.Writer) ([]StorageResult, error) {
	dir, err := os.MkdirTemp("", "webhooks-bench-storage-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var rs []StorageResult
	for _, c := range StorageCases {
		fmt.Fprintf(out, "\nstorage, %s: publishing %d events ...\n", c.Name, c.Events)
		r, err := storageCase(ctx, o, filepath.Join(dir, c.Name), c, out)
		if err != nil {
			return rs, fmt.Errorf("storage %s: %w", c.Name, err)
		}
		rs = append(rs, r)
	}
	reportStorage(out, rs)
	return rs, nil
}

func storageCase(ctx context.Context, o DeliveryOptions, dir string, c StorageCase, out io.Writer) (StorageResult, error) {
	r := StorageResult{Case: c}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return r, err
	}
	var body []byte
	if c.ResponseBytes > 0 {
		body = []byte(strings.Repeat("r", c.ResponseBytes))
	}
	recv, err := newReceiverAnswering(dir, body)
	if err != nil {
		return r, err
	}
	defer recv.srv.Close()
	name := fmt.Sprintf("bench-storage-%s-%d", c.Name, time.Now().UnixNano())
	w, err := newWorld(ctx, o.Root, o.Endpoint, name, recv, 0)
	if err != nil {
		return r, err
	}
	w.owner.Account = ("acct_" + strings.Repeat("s", c.AccountBytes))[:c.AccountBytes]
	hookURL := recv.url("/hooks/")
	if c.URLBytes > len(hookURL) {
		hookURL += strings.Repeat("p", c.URLBytes-len(hookURL))
	}
	cfg, err := chain.ForEndpoint(ctx, o.Endpoint, "us-east-1")
	if err != nil {
		return r, err
	}
	db := dynamo.NewClient(cfg)
	store := dynamo.New(db, name)
	svc := webhook.NewService(store, store, secrets.New(secretsmanager.NewFromConfig(cfg), "webhooks/"+name, ""),
		slog.New(slog.DiscardHandler), webhook.Options{Limit: 100})
	_, err = svc.Create(ctx, w.owner, webhook.Settings{URL: hookURL, Events: []webhook.EventType{webhook.DocumentUploaded},
		IsActive: true, RetryEnabled: true, MaxRetries: 5}, "")
	if err != nil {
		return r, fmt.Errorf("create webhook: %w", err)
	}

	fanoutCalls, deliveryCalls := newCallStats(), newCallStats()
	fcfg, err := fanoutCalls.config(ctx, o.Endpoint)
	if err != nil {
		return r, err
	}
	dcfg, err := deliveryCalls.config(ctx, o.Endpoint)
	if err != nil {
		return r, err
	}
	stop, err := w.run(ctx, pipelineCalls{fanout: fcfg, delivery: dcfg, fanoutPoller: cfg, deliveryPoller: cfg}, out)
	if err != nil {
		return r, err
	}
	defer stop()

	eb := eventbridge.NewFromConfig(cfg)
	ids := make([]string, c.Events)
	for i := range ids {
		id := fmt.Sprintf("evt_%d_", i)
		ids[i] = id + strings.Repeat("i", max(0, c.EventIDBytes-len(id)))
		detail, err := storageDetail(w.owner.Account, ids[i], c)
		if err != nil {
			return r, err
		}
		res, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			EventBusName: aws.String(w.res.Bus), Source: aws.String(delivery.Source), DetailType: aws.String(string(webhook.DocumentUploaded)),
			Detail: aws.String(string(detail)),
		}}})
		if err == nil && res.FailedEntryCount > 0 {
			err = fmt.Errorf("%d failed entries", res.FailedEntryCount)
		}
		if err != nil {
			return r, fmt.Errorf("PutEvents: %w", err)
		}
	}
	if err := recv.waitAll(ids, 90*time.Second); err != nil {
		return r, err
	}

	// The attempt is recorded after the receiver answers: wait for every
	// delivery to be recorded as delivered.
	var items []map[string]types.AttributeValue
	for try := 0; ; try++ {
		if items, err = scanAll(ctx, db, name); err != nil {
			return r, err
		}
		if delivered(items) == c.Events {
			break
		}
		if try == 100 {
			return r, fmt.Errorf("%d of %d deliveries recorded as delivered after 10s", delivered(items), c.Events)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // the last handlers return and their calls are counted
	stop()

	var tbl samtemplate.Table
	if err := w.tmpl.Decode(devstack.TableLogicalID, "AWS::DynamoDB::Table", &tbl); err != nil {
		return r, err
	}
	kinds := map[string]*StoredItem{}
	for _, it := range items {
		kind := stringAttr(it, "type")
		if kind != "event" && kind != "delivery" && kind != "attempt" {
			continue // the webhook, its count, the secret check
		}
		if stringAttr(it, "pk") != "" && kind == "event" {
			if p, ok := it["payload"].(*types.AttributeValueMemberB); ok {
				r.Payload = max(r.Payload, len(p.Value))
			}
		}
		k := kinds[kind]
		if k == nil {
			k = &StoredItem{Kind: kind}
			kinds[kind] = k
		}
		k.Bytes = max(k.Bytes, ItemSize(it))
		k.IndexBytes = max(k.IndexBytes, IndexEntriesSize(tbl, it))
	}
	for _, kind := range []string{"event", "delivery", "attempt"} {
		if kinds[kind] == nil {
			return r, fmt.Errorf("no %s item stored", kind)
		}
		r.Items = append(r.Items, *kinds[kind])
	}
	r.Writes = map[string]float64{}
	for caller, s := range map[string]*callStats{"fan-out": fanoutCalls, "delivery": deliveryCalls} {
		calls, _ := s.snapshot()
		for _, op := range []string{"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem", "PutEvents"} {
			if n := calls[op]; n > 0 {
				r.Writes[caller+" "+op] = float64(n) / float64(c.Events)
			}
		}
	}
	return r, nil
}

// storageDetail is the detail of event id of account for c: data of
// c.DataBytes as the delivery runs build it, or a whole detail of exactly
// c.DetailBytes.
func storageDetail(account, id string, c StorageCase) ([]byte, error) {
	detail := func(note string) ([]byte, error) {
		return json.Marshal(map[string]any{"account": account, "livemode": false, "id": id,
			"data": map[string]string{"document_id": "doc_" + id, "note": note}})
	}
	if c.DetailBytes == 0 {
		return detail(strings.Repeat("x", max(0, c.DataBytes-40)))
	}
	b, err := detail("")
	if err != nil || len(b) >= c.DetailBytes {
		return b, err
	}
	return detail(strings.Repeat("x", c.DetailBytes-len(b)))
}

// delivered counts the delivery items of items in state delivered.
func delivered(items []map[string]types.AttributeValue) int {
	n := 0
	for _, it := range items {
		if stringAttr(it, "type") == "delivery" && stringAttr(it, "state") == string(delivery.StateDelivered) {
			n++
		}
	}
	return n
}

// stringAttr is item's string attribute name, or "".
func stringAttr(item map[string]types.AttributeValue, name string) string {
	if s, ok := item[name].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// scanAll reads every item of table with strongly consistent Scans.
func scanAll(ctx context.Context, db *dynamodb.Client, table string) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		items = append(items, page.Items...)
	}
	return items, nil
}

// ItemSize is the size of item by DynamoDB's rules
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
// the UTF-8 bytes of each attribute's name plus its value's size, without
// the 100 bytes of per-item storage overhead.
func ItemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

// valueSize is the size of one attribute value: a string's UTF-8 bytes,
// a binary's raw bytes, a number's 1 byte per two significant digits plus
// 1, 1 for a Boolean or null, 3 for a list or map plus 1 per element and
// the elements' sizes (a map's element names included).
func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += numberSize(s)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	}
	return 0
}

// numberSize is a number's size: 1 byte per two significant digits
// (leading and trailing zeros trimmed), plus 1.
func numberSize(s string) int {
	s = strings.TrimLeft(s, "+-")
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		s = s[:i]
	}
	s = strings.ReplaceAll(s, ".", "")
	s = strings.Trim(s, "0")
	return (len(s)+1)/2 + 1
}

// IndexEntriesSize is the size of item's entries in tbl's global
// secondary indexes, by DynamoDB's rules: in each index whose keys item
// has, the table's and the index's key attributes and the attributes the
// index projects. Like ItemSize, it leaves out the 100 bytes of overhead
// of each entry.
func IndexEntriesSize(tbl samtemplate.Table, item map[string]types.AttributeValue) int {
	n := 0
	for _, g := range tbl.GlobalSecondaryIndexes {
		names := map[string]bool{}
		for _, k := range append(slices.Clone(tbl.KeySchema), g.KeySchema...) {
			names[k.AttributeName] = true
		}
		if !slices.ContainsFunc(g.KeySchema, func(k samtemplate.KeyElement) bool { return item[k.AttributeName] != nil }) {
			continue // sparse: not in this index
		}
		for _, a := range g.Projection.NonKeyAttributes {
			names[a] = true
		}
		entry := map[string]types.AttributeValue{}
		for name, v := range item {
			if names[name] || g.Projection.ProjectionType == string(types.ProjectionTypeAll) {
				entry[name] = v
			}
		}
		n += ItemSize(entry)
	}
	return n
}

// Storage prices and rules of the report.
const (
	// itemOverhead is DynamoDB's storage overhead per item, and per index
	// entry.
	itemOverhead = 100
	// storagePrice is DynamoDB Standard storage in us-east-1, per GB-month
	// (25 GB a month free, ignored).
	storagePrice = 0.25
	// writeUnitBytes is the item size one write request unit covers.
	writeUnitBytes = 1024
)

// writeUnits is the write request units of writing an item of size
// bytes, once (a standard write).
func writeUnits(size int) int { return int(math.Ceil(float64(size) / writeUnitBytes)) }

// reportStorage prints the items' sizes, and what a million events keep
// stored and cost in write request units.
func reportStorage(out io.Writer, rs []StorageResult) {
	fmt.Fprintln(out, "\nstored items per event, one endpoint, delivered at the first attempt (DynamoDB item size rules; +100 bytes per item and per index entry):")
	fmt.Fprintln(out, "| case | payload | event item | its index entry | delivery item | attempt item | stored per event | per million events | $/month at $0.25/GB-month | WRU per event |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		stored, wru := 0, 0
		for _, it := range r.Items {
			stored += it.Bytes + itemOverhead
			if it.IndexBytes > 0 {
				stored += it.IndexBytes + itemOverhead
				wru += writeUnits(it.IndexBytes)
			}
		}
		ev, dl, at := r.Items[0], r.Items[1], r.Items[2]
		gb := float64(stored) * 1e6 / (1 << 30)
		// The fan-out's PutItem writes the event (and its index entry,
		// above); the delivery's TransactWriteItems the delivery and the
		// attempt, at 2 units per KB each.
		wru += writeUnits(ev.Bytes) + 2*writeUnits(dl.Bytes) + 2*writeUnits(at.Bytes)
		indexCell := "not indexed"
		if ev.IndexBytes > 0 {
			indexCell = fmt.Sprintf("%d B", ev.IndexBytes)
		}
		fmt.Fprintf(out, "| %s | %d B | %d B | %s | %d B | %d B | %d B | %.2f GB | $%.2f | %d |\n", r.Case.Name, r.Payload,
			ev.Bytes, indexCell, dl.Bytes, at.Bytes, stored, gb, gb*storagePrice, wru)
	}
	fmt.Fprintln(out, "(GB of 2^30 bytes; a million events a month, each kept RECORD_RETENTION_DAYS=30, is about a million events stored at any time)")
	fmt.Fprintln(out, "\nwrite calls per event, counted:")
	for _, r := range rs {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(r.Writes)) {
			parts = append(parts, fmt.Sprintf("%s %.2f", k, r.Writes[k]))
		}
		fmt.Fprintf(out, "%s: %s\n", r.Case.Name, strings.Join(parts, ", "))
	}
}
