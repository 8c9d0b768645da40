package deliverytest_test

import (
	"testing"

	"github.com/docproc/webhooks/internal/delivery/deliverytest"
	"github.com/docproc/webhooks/internal/webhook"
)

func TestConformance(t *testing.T) {
	deliverytest.RunConformanceTests(t, func(_ *testing.T, hooks ...webhook.Webhook) deliverytest.Ports {
		return deliverytest.NewStore(hooks...)
	})
}
