package worker

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/metrics"
)

// Metric names the sweeper writes.
const (
	// MetricDeliveriesResent counts the parked deliveries the sweeper
	// queued again.
	MetricDeliveriesResent = "DeliveriesResent"
	// MetricParkedExpired counts the parked deliveries whose event was no
	// longer kept.
	MetricParkedExpired = "ParkedExpired"
)

// SweeperHandler is the sweeper function's handler, which a schedule invokes
// every minute.
type SweeperHandler struct {
	// Sweeper queues the parked deliveries that are due.
	Sweeper *delivery.Sweeper
	// Log is where each sweep's outcome is logged.
	Log *slog.Logger
	// Metrics receives the counts.
	Metrics *metrics.Emitter
}

// Handle runs one sweep. An error fails the invocation (the function's
// Errors metric and alarm); what it did not reach is left to the next
// sweep.
func (h *SweeperHandler) Handle(ctx context.Context) (delivery.Swept, error) {
	out, err := h.Sweeper.Sweep(ctx)
	h.Metrics.Counts(map[string]int{MetricDeliveriesResent: out.Queued, MetricParkedExpired: out.Expired})
	if err != nil {
		h.Log.Error("sweep failed; the next sweep takes up what it left", "queued", out.Queued, "expired", out.Expired, "error", err)
		return out, fmt.Errorf("sweep: %w", err)
	}
	if out.Queued > 0 || out.Expired > 0 {
		h.Log.Info("parked deliveries queued", "queued", out.Queued, "expired", out.Expired)
	}
	return out, nil
}
