package sim

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
)

// Report writes runs side by side, one column each, headed by their
// names: the workload (the first run's), the dwell times, the steps, the
// queue's peaks and fair queueing, the calls per delivery and the dollars per million
// deliveries.
func Report(w io.Writer, names []string, runs []Result) error {
	if len(runs) == 0 || len(names) != len(runs) {
		return fmt.Errorf("sim: a name for each of at least one run")
	}
	o := runs[0].Options
	fmt.Fprintf(w, "Scale simulation: %s endpoints, %s events/s for %s, a burst of %s events at %s, then %s of drain; "+
		"DELIVERY_TIMEOUT %s, %d instances x batches of %d, ENDPOINT_CONCURRENCY %d; seed %d\n",
		count(o.Endpoints), trim(o.Rate), o.Duration, count(o.Burst), o.BurstAt, o.Drain, o.Timeout, o.Instances,
		MaxReceive, o.Concurrency, o.Seed)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(label string, cell func(r Result) string) {
		fmt.Fprint(tw, label+"\t")
		for _, r := range runs {
			fmt.Fprint(tw, cell(r)+"\t")
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintln(tw, "\t"+strings.Join(names, "\t")+"\t")
	row("events published", func(r Result) string { return count(r.Events) })
	row("deliveries made (2xx)", func(r Result) string { return count(r.Steps.Delivered) })
	for p := range populations {
		for ph := range phases {
			if runs[0].Dwell.Published[p][ph] == 0 {
				continue
			}
			row(fmt.Sprintf("%s, %s: events (delivered), p50 / p99 dwell", p, ph), func(r Result) string {
				return fmt.Sprintf("%s (%.1f %%), %s / %s", count(r.Dwell.Published[p][ph]), 100*r.Dwell.Delivered(p, ph),
					quantile(&r.Dwell, p, ph, 0.5), quantile(&r.Dwell, p, ph, 0.99))
			})
		}
	}
	row("the burst's last event delivered after", func(r Result) string {
		if r.Dwell.BurstDrained == 0 {
			return "not delivered"
		}
		return fmt.Sprintf("%.1f s", r.Dwell.BurstDrained.Seconds())
	})
	row("attempts made (timed out)", func(r Result) string {
		return fmt.Sprintf("%s (%s)", count(r.Steps.Attempts), count(r.Steps.Timeouts))
	})
	for _, outcome := range []string{delivery.OutcomeRetry, delivery.OutcomeFailed, delivery.OutcomeHeld, delivery.OutcomeEarly,
		delivery.OutcomeDuplicate, delivery.OutcomeSkipped, "error"} {
		row("steps "+outcome, func(r Result) string { return count(r.Steps.Outcomes[outcome]) })
	}
	for _, reason := range []string{delivery.HeldConcurrency, delivery.HeldRetryShare, delivery.HeldRate, delivery.HeldBreaker,
		delivery.HeldProbe, delivery.HeldBusy} {
		row("  held: "+reason, func(r Result) string { return count(r.Steps.Held[reason]) })
	}
	row("peak messages in flight / visible / delayed", func(r Result) string {
		return count(r.Queue.InFlight) + " / " + count(r.Queue.Visible) + " / " + count(r.Queue.Delayed)
	})
	row("receives that passed a noisy group over", func(r Result) string { return count(r.Queue.NoisyPassed) })
	row("messages left at the end", func(r Result) string { return count(r.Left) })
	row("receives refused at 120,000 in flight", func(r Result) string { return count(r.Calls.SQS.OverLimit) })
	per := func(label string, n func(c *Calls) float64) {
		row(label, func(r Result) string { return fmt.Sprintf("%.3f", n(&r.Calls)/float64(max(1, r.Steps.Delivered))) })
	}
	per("per delivery: SQS requests", func(c *Calls) float64 { return float64(c.SQSRequests()) })
	per("  SendMessageBatch (the fan-out's)", func(c *Calls) float64 { return float64(c.SQS.SendMessageBatch) })
	per("  SendMessage (parked, held)", func(c *Calls) float64 { return float64(c.SQS.SendMessage) })
	per("  ReceiveMessage", func(c *Calls) float64 { return float64(c.SQS.ReceiveMessage) })
	per("  DeleteMessageBatch", func(c *Calls) float64 { return float64(c.SQS.DeleteMessageBatch) })
	per("  ChangeMessageVisibility", func(c *Calls) float64 { return float64(c.SQS.ChangeMessageVisibility) })
	per("per delivery: DynamoDB calls", func(c *Calls) float64 { return float64(c.DynamoDBCalls()) })
	per("  BatchGetItem", func(c *Calls) float64 { return float64(c.DynamoDB.BatchGetItem) })
	per("  UpdateItem", func(c *Calls) float64 { return float64(c.DynamoDB.UpdateItem) })
	per("  TransactWriteItems", func(c *Calls) float64 { return float64(c.DynamoDB.TransactWriteItems) })
	per("  GetItem", func(c *Calls) float64 { return float64(c.DynamoDB.GetItem) })
	per("  Query", func(c *Calls) float64 { return float64(c.DynamoDB.Query) })
	per("  read request units", func(c *Calls) float64 { return c.DynamoDB.RRU })
	per("  write request units", func(c *Calls) float64 { return c.DynamoDB.WRU })
	per("per delivery: Secrets Manager GetSecretValue", func(c *Calls) float64 { return float64(c.SecretsManager.GetSecretValue) })
	per("per delivery: EventBridge Scheduler calls", func(*Calls) float64 { return 0 })
	per("per delivery: Lambda invocations", func(c *Calls) float64 { return float64(c.Lambda.Invocations + c.Lambda.Sweeps) })
	per("per delivery: Lambda GB-s", func(c *Calls) float64 { return c.Lambda.GBSeconds })
	dollars := func(label string, d func(b Bill) float64) {
		row(label, func(r Result) string { return fmt.Sprintf("$%.2f", d(r.Bill)*1e6/float64(max(1, r.Steps.Delivered))) })
	}
	dollars("$ per million deliveries: SQS", func(b Bill) float64 { return b.SQS })
	dollars("  DynamoDB", func(b Bill) float64 { return b.DynamoDB })
	dollars("  Lambda", func(b Bill) float64 { return b.Lambda })
	dollars("  Secrets Manager", func(b Bill) float64 { return b.SecretsManager })
	dollars("  total", Bill.Total)
	dollars("  total without Secrets Manager (warm caches)", func(b Bill) float64 { return b.Total() - b.SecretsManager })
	row("wall time of the run", func(r Result) string { return r.Wall.Round(100 * time.Millisecond).String() })
	return tw.Flush()
}

// quantile formats p's q-quantile, or says it fell past the run's end.
func quantile(d *Dwell, p Population, ph Phase, q float64) string {
	t, ok := d.Quantile(p, ph, q)
	switch {
	case !ok:
		return "not delivered"
	case t < time.Second:
		return fmt.Sprintf("%d ms", t.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", t.Seconds())
}

// count formats n with thousands separators.
func count(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// trim formats f without trailing zeros.
func trim(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", f), "0"), ".")
}
