package dynamo_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// TestRateLimitRoundTrip: a webhook's rate limit is stored as the number
// rate_limit, and a webhook without one has no such attribute, as items
// from before the setting have none. Every read of the webhook (Get, List,
// the fan-out's Webhooks) and the record of a create's Idempotency-Key
// carry it, and an update sets, keeps or removes it as the webhook it is
// given says, alone or beside the removal of a re-enable.
func TestRateLimitRoundTrip(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		client := dynamo.NewClient(b.Config(t))
		table := testenv.Unique("rate-")
		testenv.CreateTable(t, client, table)
		s := dynamo.New(client, table)
		owner := tenant.Tenant{Account: testenv.Unique("acct_"), Mode: tenant.Test}
		now := time.Now().UTC().Truncate(time.Second)

		// stored returns the rate_limit attribute of webhook id as stored.
		stored := func(id string) (types.AttributeValue, bool) {
			t.Helper()
			out, err := client.GetItem(ctx, &dynamodb.GetItemInput{
				TableName: aws.String(table), ConsistentRead: aws.Bool(true),
				Key: map[string]types.AttributeValue{
					"pk": &types.AttributeValueMemberS{Value: "ACCOUNT#" + owner.Account + "#" + string(owner.Mode)},
					"sk": &types.AttributeValueMemberS{Value: "WEBHOOK#" + id},
				},
			})
			if err != nil || out.Item == nil {
				t.Fatalf("get item %s: %v, %v", id, out, err)
			}
			v, ok := out.Item["rate_limit"]
			return v, ok
		}
		// check fails t unless webhook id is stored and read with rate limit want.
		check := func(step, id string, want int) {
			t.Helper()
			v, ok := stored(id)
			if n, isN := v.(*types.AttributeValueMemberN); want > 0 && (!isN || n.Value != strconv.Itoa(want)) {
				t.Errorf("%s: stored rate_limit %#v, want the number %d", step, v, want)
			}
			if want == 0 && ok {
				t.Errorf("%s: stored rate_limit %#v, want no attribute", step, v)
			}
			got, err := s.Get(ctx, owner, id)
			if err != nil || got.RateLimit != want {
				t.Errorf("%s: Get rate limit %d, %v; want %d", step, got.RateLimit, err, want)
			}
			page, err := s.List(ctx, owner, 10, "")
			if err != nil {
				t.Fatal(err)
			}
			subs, err := s.Webhooks(ctx, owner)
			if err != nil {
				t.Fatal(err)
			}
			for name, ws := range map[string][]webhook.Webhook{"List": page.Webhooks, "Webhooks": subs} {
				for _, w := range ws {
					if w.ID == id && w.RateLimit != want {
						t.Errorf("%s: %s rate limit %d, want %d", step, name, w.RateLimit, want)
					}
				}
			}
		}

		id, _ := webhook.NewID(now)
		w := webhook.Webhook{ID: id, Owner: owner, SecretRef: "arn:x", CreatedAt: now, UpdatedAt: now, Version: 1,
			Settings: webhook.Settings{URL: "https://e.com", Events: webhook.DefaultEvents, IsActive: true, RateLimit: 50}}
		claim := func(token string) webhook.Claim {
			return webhook.Claim{Owner: owner, Key: "create", Fingerprint: w.Fingerprint(), Token: token, At: now,
				LockedUntil: now.Add(30 * time.Second), ExpiresAt: now.Add(24 * time.Hour)}
		}
		first := claim("t1")
		if _, err := s.ClaimKey(ctx, first); err != nil {
			t.Fatal(err)
		}
		if err := s.Create(ctx, w, 16, &first, "sha"); err != nil {
			t.Fatal(err)
		}
		check("created with a limit", id, 50)
		if prior, err := s.ClaimKey(ctx, claim("t2")); err != nil || prior == nil || prior.Webhook.RateLimit != 50 {
			t.Errorf("the create's idempotency record = %+v, %v; want its webhook with rate limit 50", prior, err)
		}

		for _, step := range []struct {
			name     string
			active   bool
			maxRetry int
			rate     int
		}{
			{"another setting changed", true, 1, 50},
			{"a new limit", true, 1, 7},
			{"removed, beside a re-enable's removals", true, 1, 0},
			{"set on a paused webhook", false, 1, 9},
			{"removed alone", false, 1, 0},
		} {
			w.Version++
			w.IsActive, w.MaxRetries, w.RateLimit = step.active, step.maxRetry, step.rate
			if err := s.Update(ctx, w); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			check(step.name, id, step.rate)
		}

		plain, _ := webhook.NewID(now.Add(time.Millisecond))
		if err := s.Create(ctx, webhook.Webhook{ID: plain, Owner: owner, SecretRef: "arn:y", CreatedAt: now, UpdatedAt: now, Version: 1,
			Settings: webhook.Settings{URL: "https://e.com", Events: webhook.DefaultEvents}}, 16, nil, ""); err != nil {
			t.Fatal(err)
		}
		check("created without a limit", plain, 0)
	})
}
