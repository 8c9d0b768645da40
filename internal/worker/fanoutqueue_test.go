package worker

import (
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/dev/samtemplate"
)

// TestFanoutQueueRidesOutAnOutage: an event whose fan-out fails on every
// receive, held back by ErrorDelay each time, goes to the dead-letter
// queue after FanoutQueue's maxReceiveCount receives. That must take at
// least 24 hours, and less than the queue keeps a message.
func TestFanoutQueueRidesOutAnOutage(t *testing.T) {
	tmpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var q samtemplate.Queue
	if err := tmpl.Decode("FanoutQueue", "AWS::SQS::Queue", &q); err != nil {
		t.Fatal(err)
	}
	var outage time.Duration
	for receive := 1; receive <= q.RedrivePolicy.MaxReceiveCount; receive++ {
		outage += ErrorDelay(DefaultErrorDelay, receive)
	}
	t.Logf("maxReceiveCount %d rides out %v", q.RedrivePolicy.MaxReceiveCount, outage)
	if outage < 24*time.Hour {
		t.Errorf("FanoutQueue's maxReceiveCount %d dead-letters an event after %v of failed fan-outs; want at least 24h",
			q.RedrivePolicy.MaxReceiveCount, outage)
	}
	if kept := time.Duration(q.MessageRetentionPeriod) * time.Second; outage >= kept {
		t.Errorf("the receives last %v, past the queue's retention of %v", outage, kept)
	}
}
