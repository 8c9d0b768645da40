// Package pipeline creates the delivery pipeline's AWS resources on an
// emulator as template.yaml defines them: the event bus, the rule that
// sends the platform's document events to the fan-out queue, and the
// fan-out and delivery queues with their dead-letter queues. `make run`
// and the tests use it, as they use devstack.EnsureTable for the table.
package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/docproc/webhooks/internal/dev/samtemplate"
)

// Logical ids of the pipeline's resources in template.yaml.
const (
	BusID                   = "EventBus"
	RuleID                  = "DocumentEventsRule"
	FanoutQueueID           = "FanoutQueue"
	FanoutDeadLetterQueueID = "FanoutDeadLetterQueue"
	DeliveryQueueID         = "DeliveryQueue"
	DeliveryDLQID           = "DeliveryDeadLetterQueue"
	FanoutFunctionID        = "FanoutFunction"
	DeliveryFunctionID      = "DeliveryFunction"
	SweeperFunctionID       = "SweeperFunction"
)

// DefaultBusName is the local bus's name unless EVENT_BUS_NAME says
// otherwise.
const DefaultBusName = "webhooks-local"

// Names are the physical names of the created resources.
type Names struct {
	// Bus is the event bus's name.
	Bus string
	// QueuePrefix starts every queue's name: a queue is named
	// QueuePrefix-LogicalID, such as webhooks-local-FanoutQueue. Empty
	// means Bus.
	QueuePrefix string
}

// queueName returns the name of the queue with logical id.
func (n Names) queueName(id string) string {
	p := n.QueuePrefix
	if p == "" {
		p = n.Bus
	}
	return p + "-" + id
}

// Queue is one created queue.
type Queue struct {
	// LogicalID is its logical id in the template.
	LogicalID string
	// Name, URL and ARN are as the emulator gave them.
	Name, URL, ARN string
}

// Resources are the created resources.
type Resources struct {
	// Bus and BusARN name the event bus.
	Bus, BusARN string
	// Rule and RuleARN name the rule, on Bus.
	Rule, RuleARN string
	// Queues are every queue of the template, by logical id.
	Queues map[string]Queue
}

// Fanout returns the fan-out queue.
func (r Resources) Fanout() Queue { return r.Queues[FanoutQueueID] }

// Delivery returns the delivery queue.
func (r Resources) Delivery() Queue { return r.Queues[DeliveryQueueID] }

// Ensure creates, with the clients of cfg, what the template defines for
// the pipeline, or brings what an earlier run created up to date, so
// running it again (make run restarted with its data kept) changes
// nothing:
//   - the event bus names.Bus (the template's EventBus only says there is
//     one);
//   - every AWS::SQS::Queue of the template, named by names, with its
//     VisibilityTimeout, MessageRetentionPeriod, DelaySeconds,
//     MaximumMessageSize, ReceiveMessageWaitTimeSeconds and RedrivePolicy
//     (pointed at the created dead-letter queue);
//   - the rule DocumentEventsRule on the bus, with its event pattern, and
//     its targets, each a queue of the template, with its dead-letter
//     queue and retry policy;
//   - on each target queue, a policy that lets only the rule send to it,
//     as the template's queue policy does (neither emulator enforces it).
//
// Values may be a !Ref of a parameter, read as its default, and a queue
// is named by a !Ref or !GetAtt of it (read through samtemplate); any other
// intrinsic function stops Ensure, before any call, with an error naming
// the resource, the property and the function.
func Ensure(ctx context.Context, cfg aws.Config, tmpl *samtemplate.Template, names Names) (Resources, error) {
	if names.Bus == "" {
		return Resources{}, errors.New("pipeline: no event bus name")
	}
	if err := tmpl.Decode(BusID, "AWS::Events::EventBus", &struct{}{}); err != nil {
		return Resources{}, err
	}
	rule, err := readRule(tmpl, RuleID)
	if err != nil {
		return Resources{}, err
	}
	var specs []queueSpec
	for _, id := range slices.Sorted(maps.Keys(tmpl.Resources)) {
		if tmpl.Resources[id].Type != "AWS::SQS::Queue" {
			continue
		}
		q, err := readQueue(tmpl, id)
		if err != nil {
			return Resources{}, err
		}
		specs = append(specs, q)
	}
	ev, sq := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	res := Resources{Bus: names.Bus, Rule: RuleID, Queues: map[string]Queue{}}
	if res.BusARN, err = ensureBus(ctx, ev, names.Bus); err != nil {
		return Resources{}, err
	}
	for _, q := range specs { // first the queues, then what refers to them
		created, err := createQueue(ctx, sq, names.queueName(q.id), q.fifo)
		if err != nil {
			return Resources{}, err
		}
		created.LogicalID = q.id
		res.Queues[q.id] = created
	}
	put, err := ev.PutRule(ctx, &eventbridge.PutRuleInput{
		Name:         aws.String(RuleID),
		EventBusName: aws.String(names.Bus),
		EventPattern: aws.String(rule.pattern),
		State:        map[bool]ebtypes.RuleState{true: ebtypes.RuleStateEnabled, false: ebtypes.RuleStateDisabled}[rule.enabled],
	})
	if err != nil {
		return Resources{}, fmt.Errorf("put rule %s on bus %s: %w", RuleID, names.Bus, err)
	}
	res.RuleARN = aws.ToString(put.RuleArn)
	targetOf := map[string]bool{}
	for _, t := range rule.targets {
		targetOf[t.queue] = true
	}
	for _, q := range specs {
		attrs := maps.Clone(q.attributes)
		if q.dlq != "" {
			dlq, ok := res.Queues[q.dlq]
			if !ok {
				return Resources{}, fmt.Errorf("queue %s: its dead-letter queue %s is not a queue of the template", q.id, q.dlq)
			}
			rp, _ := json.Marshal(map[string]any{"deadLetterTargetArn": dlq.ARN, "maxReceiveCount": q.maxReceive})
			attrs[string(sqstypes.QueueAttributeNameRedrivePolicy)] = string(rp)
		}
		if targetOf[q.id] {
			attrs[string(sqstypes.QueueAttributeNamePolicy)] = sendPolicy(res.Queues[q.id].ARN, res.RuleARN)
		}
		if len(attrs) == 0 {
			continue
		}
		if _, err := sq.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(res.Queues[q.id].URL), Attributes: attrs}); err != nil {
			return Resources{}, fmt.Errorf("set the attributes of queue %s: %w", res.Queues[q.id].Name, err)
		}
	}
	var targets []ebtypes.Target
	for _, t := range rule.targets {
		q, ok := res.Queues[t.queue]
		if !ok {
			return Resources{}, fmt.Errorf("rule %s, target %s: %s is not a queue of the template; only queue targets are created locally", RuleID, t.id, t.queue)
		}
		target := ebtypes.Target{Id: aws.String(t.id), Arn: aws.String(q.ARN)}
		if t.dlq != "" {
			dlq, ok := res.Queues[t.dlq]
			if !ok {
				return Resources{}, fmt.Errorf("rule %s, target %s: its dead-letter queue %s is not a queue of the template", RuleID, t.id, t.dlq)
			}
			target.DeadLetterConfig = &ebtypes.DeadLetterConfig{Arn: aws.String(dlq.ARN)}
		}
		if t.maxAttempts != nil || t.maxAge != nil {
			target.RetryPolicy = &ebtypes.RetryPolicy{MaximumRetryAttempts: t.maxAttempts, MaximumEventAgeInSeconds: t.maxAge}
		}
		targets = append(targets, target)
	}
	out, err := ev.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(RuleID), EventBusName: aws.String(names.Bus), Targets: targets})
	if err != nil {
		return Resources{}, fmt.Errorf("put the targets of rule %s: %w", RuleID, err)
	}
	if out.FailedEntryCount > 0 && len(out.FailedEntries) > 0 {
		e := out.FailedEntries[0]
		return Resources{}, fmt.Errorf("put target %s of rule %s: %s: %s", aws.ToString(e.TargetId), RuleID, aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage))
	}
	return res, nil
}

// ensureBus creates the bus name unless it exists, and returns its ARN.
func ensureBus(ctx context.Context, ev *eventbridge.Client, name string) (string, error) {
	created, err := ev.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(name)})
	if err == nil {
		return aws.ToString(created.EventBusArn), nil
	}
	got, derr := ev.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(name)})
	if derr != nil { // not there: the create's error says why
		return "", fmt.Errorf("create event bus %s: %w", name, err)
	}
	return aws.ToString(got.Arn), nil
}

// createQueue creates the queue name unless it exists, and returns it.
// Its attributes are set afterwards, so that an existing queue takes the
// template's current ones.
func createQueue(ctx context.Context, sq *sqs.Client, name string, fifo bool) (Queue, error) {
	in := &sqs.CreateQueueInput{QueueName: aws.String(name)}
	if fifo {
		in.Attributes = map[string]string{string(sqstypes.QueueAttributeNameFifoQueue): "true"}
	}
	var url string
	created, err := sq.CreateQueue(ctx, in)
	if err == nil {
		url = aws.ToString(created.QueueUrl)
	} else {
		got, gerr := sq.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if gerr != nil {
			return Queue{}, fmt.Errorf("create queue %s: %w", name, err)
		}
		url = aws.ToString(got.QueueUrl)
	}
	attrs, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return Queue{}, fmt.Errorf("read the ARN of queue %s: %w", name, err)
	}
	return Queue{Name: name, URL: url, ARN: attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]}, nil
}

// sendPolicy is a queue policy that lets EventBridge send to queueARN for
// ruleARN only.
func sendPolicy(queueARN, ruleARN string) string {
	b, _ := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Sid":       "FromTheDocumentEventsRule",
			"Effect":    "Allow",
			"Principal": map[string]string{"Service": "events.amazonaws.com"},
			"Action":    "sqs:SendMessage",
			"Resource":  queueARN,
			"Condition": map[string]any{"ArnEquals": map[string]string{"aws:SourceArn": ruleARN}},
		}},
	})
	return string(b)
}
