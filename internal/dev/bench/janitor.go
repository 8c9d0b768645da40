package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/middleware"

	"github.com/docproc/webhooks/internal/awsconf/chain"
	"github.com/docproc/webhooks/internal/dev/local/devstack"
	"github.com/docproc/webhooks/internal/dev/samtemplate"
	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/janitor"
	"github.com/docproc/webhooks/internal/secrets"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// JanitorRun is what one janitor run over a table of Webhooks cost.
type JanitorRun struct {
	// Webhooks is how many webhooks the table held.
	Webhooks int
	// Checks is how many due checks the run settled.
	Checks int
	// Calls counts the run's AWS calls by operation.
	Calls map[string]int
	// Took is the run's wall time against the emulator.
	Took time.Duration
}

// counter counts AWS calls by operation.
type counter struct {
	mu    sync.Mutex
	calls map[string]int
}

// middleware adds the counter to a client's stack.
func (c *counter) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("bench.counter",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			c.calls[awsmiddleware.GetOperationName(ctx)]++
			c.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// JanitorCost runs the janitor once over a fresh table for each size in
// sizes, each holding that many webhooks and the same number of due orphan
// checks (each with its secret), against the emulator at endpoint. It
// returns what each run cost: the janitor reads only the checks of the
// hours since its checkpoint, so the cost should not follow the size.
func JanitorCost(ctx context.Context, endpoint, template string, sizes []int, checks int, out io.Writer) ([]JanitorRun, error) {
	tmpl, err := samtemplate.Load(template)
	if err != nil {
		return nil, err
	}
	var runs []JanitorRun
	for _, n := range sizes {
		count := &counter{calls: map[string]int{}}
		cfg, err := chain.ForEndpoint(ctx, endpoint, "us-east-1", config.WithAPIOptions([]func(*middleware.Stack) error{count.middleware}))
		if err != nil {
			return nil, err
		}
		db := dynamo.NewClient(cfg)
		table := fmt.Sprintf("janitor-bench-%d-%d", n, time.Now().UnixNano())
		if err := devstack.EnsureTable(ctx, db, tmpl, table); err != nil {
			return nil, err
		}
		store := dynamo.New(db, table)
		sec := secrets.New(secretsmanager.NewFromConfig(cfg), "webhooks/bench-"+table, "")
		owner := tenant.Tenant{Account: "acct_bench", Mode: tenant.Test}
		if err := seedWebhooks(ctx, db, table, owner, n); err != nil {
			return nil, err
		}
		due := time.Now().Add(-3 * time.Hour)
		for range checks {
			id, _ := webhook.NewID(due)
			if _, err := sec.Create(ctx, webhook.NewSecret{Owner: owner, WebhookID: id, Value: webhook.SigningSecretOf("whsec_bench"), SHA256: "h"}); err != nil {
				return nil, err
			}
			if err := store.NoteCheck(ctx, webhook.SecretCheck{Kind: webhook.CheckOrphan, Owner: owner, WebhookID: id, At: due}); err != nil {
				return nil, err
			}
		}
		// Start from a checkpoint a day back, as a scheduled run would find it.
		if err := store.SaveCheckpoint(ctx, time.Now().Add(-24*time.Hour).Truncate(time.Hour)); err != nil {
			return nil, err
		}
		j := janitor.New(store, sec, store, webhook.NewService(store, store, sec, slog.New(slog.DiscardHandler), webhook.Options{}),
			janitor.DefaultMinAge, slog.New(slog.DiscardHandler))
		count.mu.Lock()
		clear(count.calls)
		count.mu.Unlock()
		start := time.Now()
		r, err := j.Run(ctx)
		took := time.Since(start)
		if err != nil {
			return nil, fmt.Errorf("janitor over %d webhooks: %w", n, err)
		}
		count.mu.Lock()
		run := JanitorRun{Webhooks: n, Checks: r.Checks, Calls: maps.Clone(count.calls), Took: took}
		count.mu.Unlock()
		runs = append(runs, run)
		var calls []string
		total := 0
		for _, op := range slices.Sorted(maps.Keys(run.Calls)) {
			calls = append(calls, fmt.Sprintf("%s %d", op, run.Calls[op]))
			total += run.Calls[op]
		}
		fmt.Fprintf(out, "janitor run over %6d webhooks, %d due checks: %3d AWS calls (%s) in %v\n",
			n, run.Checks, total, strings.Join(calls, ", "), took.Round(time.Millisecond))
	}
	return runs, nil
}

// seedWebhooks writes n webhook items for owner, 25 to a BatchWriteItem.
// They stand for a table of that size: the janitor must not read them.
// Their keys follow the table's layout (docs/design.md), written out here.
func seedWebhooks(ctx context.Context, db *dynamodb.Client, table string, owner tenant.Tenant, n int) error {
	now := time.Now()
	for done := 0; done < n; {
		var batch []types.WriteRequest
		for ; done < n && len(batch) < 25; done++ {
			id, _ := webhook.NewID(now)
			batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
				"pk":   &types.AttributeValueMemberS{Value: "ACCOUNT#" + owner.Account + "#" + string(owner.Mode)},
				"sk":   &types.AttributeValueMemberS{Value: "WEBHOOK#" + id},
				"type": &types.AttributeValueMemberS{Value: "webhook"},
			}}})
		}
		for len(batch) > 0 {
			out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: batch}})
			if err != nil {
				return fmt.Errorf("seed webhooks: %w", err)
			}
			batch = out.UnprocessedItems[table]
		}
	}
	return nil
}
