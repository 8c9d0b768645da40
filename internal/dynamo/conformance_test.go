package dynamo_test

import (
	"context"
	"testing"

	"github.com/docproc/webhooks/internal/delivery/deliverytest"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/webhook"
	"github.com/docproc/webhooks/internal/webhook/webhooktest"
)

// The ports' conformance suites, run against the adapter on each
// emulator: the in-memory fakes pass the same suites, so the fakes'
// semantics are the adapter's.

func TestWebhookStoreConformance(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		client := dynamo.NewClient(b.Config(t))
		webhooktest.RunStoreConformanceTests(t, func(t *testing.T) webhooktest.Stores {
			table := testenv.Unique("conform-")
			testenv.CreateTable(t, client, table)
			return dynamo.New(client, table)
		})
	})
}

func TestDeliveryConformance(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		client := dynamo.NewClient(b.Config(t))
		deliverytest.RunConformanceTests(t, func(t *testing.T, hooks ...webhook.Webhook) deliverytest.Ports {
			table := testenv.Unique("conform-")
			testenv.CreateTable(t, client, table)
			s := dynamo.New(client, table)
			for _, w := range hooks {
				if err := s.Create(context.Background(), w, webhook.DefaultLimit, nil, ""); err != nil {
					t.Fatalf("create webhook %s: %v", w.ID, err)
				}
			}
			return s
		})
	})
}
