package secrets_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/secrets"
	"github.com/docproc/webhooks/internal/webhook"
	"github.com/docproc/webhooks/internal/webhook/webhooktest"
)

// The secrets port's conformance suite, run against the adapter on each
// emulator: webhooktest.SecretStore passes the same suite.
func TestSecretStoreConformance(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		client := secretsmanager.NewFromConfig(b.Config(t))
		webhooktest.RunSecretStoreConformanceTests(t, func(*testing.T) webhook.SecretStore {
			return secrets.New(client, testenv.Unique("webhooks/c")+"/", "")
		})
	})
}
