package worker

import (
	"cmp"
	"strconv"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/dev/samtemplate"
)

// TestStepErrorAlarmsFireWithinFiveMinutes: each metric of a step that
// fails before an attempt (MetricFanoutErrors, MetricDeliveryStepErrors)
// has an alarm in template.yaml, on the metric as its function logs it
// (the function's namespace, no dimensions), with periods of a minute, so
// that:
//   - one message that fails on every receive, coming back after
//     ErrorDelay each time, fires it within 5 minutes of its first failure,
//     whatever second of a minute that failure falls on;
//   - one failure that the next receive gets past does not fire it.
//
// The alarm is evaluated here as CloudWatch does, at the end of each
// minute, over the last EvaluationPeriods minutes, a minute without data
// not breaching. CloudWatch's own delay in turning a log line into a
// metric comes on top.
func TestStepErrorAlarmsFireWithinFiveMinutes(t *testing.T) {
	tmpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for metric, function := range map[string]string{MetricFanoutErrors: "FanoutFunction", MetricDeliveryStepErrors: "DeliveryFunction"} {
		var fn samtemplate.Function
		if err := tmpl.Decode(function, "AWS::Serverless::Function", &fn); err != nil {
			t.Fatal(err)
		}
		var alarm samtemplate.Alarm
		found := ""
		for _, id := range tmpl.IDs("AWS::CloudWatch::Alarm") {
			var a samtemplate.Alarm
			if err := tmpl.Decode(id, "AWS::CloudWatch::Alarm", &a); err != nil {
				t.Fatal(err)
			}
			if a.MetricName == metric {
				alarm, found = a, id
			}
		}
		if found == "" {
			t.Errorf("no alarm on %s", metric)
			continue
		}
		if ns := fn.Environment.Variables["METRICS_NAMESPACE"]; alarm.Namespace != ns || len(alarm.Dimensions) != 0 || alarm.Statistic != "Sum" {
			t.Errorf("%s reads %s in %q with dimensions %v, statistic %q; %s logs it in %q without dimensions, to be summed",
				found, metric, alarm.Namespace, alarm.Dimensions, alarm.Statistic, function, ns)
		}
		threshold, err := strconv.ParseFloat(alarm.Threshold, 64)
		if alarm.Period != 60 || alarm.EvaluationPeriods > 5 || alarm.ComparisonOperator != "GreaterThanOrEqualToThreshold" ||
			alarm.TreatMissingData != "notBreaching" || err != nil || threshold < 1 {
			t.Errorf("%s: period %d s, %d periods, %s %q, missing data %q; want 60 s, at most 5, at or above a count of at least 1, notBreaching",
				found, alarm.Period, alarm.EvaluationPeriods, alarm.ComparisonOperator, alarm.Threshold, alarm.TreatMissingData)
			continue
		}
		fires := func(failures []time.Duration) (time.Duration, bool) {
			perMinute := map[int]float64{}
			for _, at := range failures {
				perMinute[int(at/time.Minute)]++
			}
			need := cmp.Or(alarm.DatapointsToAlarm, alarm.EvaluationPeriods)
			for end := 0; end < 60; end++ { // the minute whose end the alarm is evaluated at
				breaching := 0
				for m := end - alarm.EvaluationPeriods + 1; m <= end; m++ {
					if perMinute[m] >= threshold {
						breaching++
					}
				}
				if breaching >= need {
					return time.Duration(end+1) * time.Minute, true
				}
			}
			return 0, false
		}
		for offset := time.Duration(0); offset < time.Minute; offset += time.Second {
			stuck := []time.Duration{offset}
			for receive := 1; len(stuck) < 50; receive++ {
				stuck = append(stuck, stuck[len(stuck)-1]+ErrorDelay(DefaultErrorDelay, receive))
			}
			switch at, ok := fires(stuck); {
			case !ok:
				t.Errorf("%s: a message failing on every receive from %v past a minute never fires it; want within 5m", found, offset)
			case at-offset > 5*time.Minute:
				t.Errorf("%s: a message failing on every receive from %v past a minute fires it after %v; want within 5m",
					found, offset, at-offset)
			}
			if at, ok := fires([]time.Duration{offset}); ok {
				t.Errorf("%s: one failure at %v past a minute fires it at %v; a failure its next receive gets past should not", found, offset, at)
			}
		}
	}
}
