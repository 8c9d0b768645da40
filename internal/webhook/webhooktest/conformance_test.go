package webhooktest_test

import (
	"testing"

	"github.com/docproc/webhooks/internal/webhook"
	"github.com/docproc/webhooks/internal/webhook/webhooktest"
)

func TestStoreConformance(t *testing.T) {
	webhooktest.RunStoreConformanceTests(t, func(*testing.T) webhooktest.Stores { return webhooktest.NewStore(nil) })
}

func TestSecretStoreConformance(t *testing.T) {
	webhooktest.RunSecretStoreConformanceTests(t, func(*testing.T) webhook.SecretStore { return webhooktest.NewSecretStore(nil) })
}
