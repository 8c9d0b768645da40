package pipeline

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/docproc/webhooks/internal/dev/samtemplate"
)

// queueProperties are the properties of an AWS::SQS::Queue read here.
type queueProperties struct {
	FifoQueue     yaml.Node            `yaml:"FifoQueue"`
	Numbers       map[string]yaml.Node `yaml:",inline"`
	RedrivePolicy *struct {
		DeadLetterTargetArn yaml.Node `yaml:"deadLetterTargetArn"`
		MaxReceiveCount     yaml.Node `yaml:"maxReceiveCount"`
	} `yaml:"RedrivePolicy"`
}

// numericQueueAttributes are the queue properties passed on as the SQS
// attributes of the same name.
var numericQueueAttributes = []string{"VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds",
	"MaximumMessageSize", "ReceiveMessageWaitTimeSeconds"}

// queueSpec is a queue of the template, read.
type queueSpec struct {
	id         string
	fifo       bool
	attributes map[string]string // SQS attributes but RedrivePolicy
	dlq        string            // the redrive policy's queue (a logical id), or ""
	maxReceive int
}

// readQueue reads the queue with logical id from tmpl.
func readQueue(tmpl *samtemplate.Template, id string) (queueSpec, error) {
	var p queueProperties
	if err := tmpl.Decode(id, "AWS::SQS::Queue", &p); err != nil {
		return queueSpec{}, err
	}
	q := queueSpec{id: id, attributes: map[string]string{}}
	if !p.FifoQueue.IsZero() {
		var err error
		if q.fifo, err = tmpl.Bool(p.FifoQueue); err != nil {
			return queueSpec{}, fmt.Errorf("queue %s, FifoQueue: %w", id, err)
		}
	}
	for _, name := range numericQueueAttributes {
		n, ok := p.Numbers[name]
		if !ok {
			continue
		}
		v, err := tmpl.Int(n)
		if err != nil {
			return queueSpec{}, fmt.Errorf("queue %s, %s: %w", id, name, err)
		}
		q.attributes[name] = strconv.Itoa(v)
	}
	if rp := p.RedrivePolicy; rp != nil {
		var err error
		if q.dlq, err = tmpl.ResourceRef(rp.DeadLetterTargetArn); err != nil {
			return queueSpec{}, fmt.Errorf("queue %s, RedrivePolicy.deadLetterTargetArn: %w", id, err)
		}
		if q.maxReceive, err = tmpl.Int(rp.MaxReceiveCount); err != nil {
			return queueSpec{}, fmt.Errorf("queue %s, RedrivePolicy.maxReceiveCount: %w", id, err)
		}
	}
	return q, nil
}

// ruleSpec is the rule of the template, read.
type ruleSpec struct {
	pattern string // the event pattern as JSON
	enabled bool
	targets []targetSpec
}

// targetSpec is one target of the rule: the logical ids of its queue and
// its dead-letter queue ("" if none).
type targetSpec struct {
	id, queue, dlq string
	maxAttempts    *int32
	maxAge         *int32
}

// readRule reads the rule with logical id from tmpl. Its targets must be
// queues of the template.
func readRule(tmpl *samtemplate.Template, id string) (ruleSpec, error) {
	var p struct {
		EventPattern yaml.Node `yaml:"EventPattern"`
		State        yaml.Node `yaml:"State"`
		Targets      []struct {
			ID               yaml.Node `yaml:"Id"`
			Arn              yaml.Node `yaml:"Arn"`
			DeadLetterConfig struct {
				Arn yaml.Node `yaml:"Arn"`
			} `yaml:"DeadLetterConfig"`
			RetryPolicy struct {
				MaximumRetryAttempts     yaml.Node `yaml:"MaximumRetryAttempts"`
				MaximumEventAgeInSeconds yaml.Node `yaml:"MaximumEventAgeInSeconds"`
			} `yaml:"RetryPolicy"`
		} `yaml:"Targets"`
	}
	if err := tmpl.Decode(id, "AWS::Events::Rule", &p); err != nil {
		return ruleSpec{}, err
	}
	r := ruleSpec{enabled: true}
	if !p.State.IsZero() {
		state, err := tmpl.Value(p.State)
		if err != nil {
			return ruleSpec{}, fmt.Errorf("rule %s, State: %w", id, err)
		}
		r.enabled = state == "ENABLED"
	}
	if p.EventPattern.IsZero() {
		return ruleSpec{}, fmt.Errorf("rule %s has no EventPattern", id)
	}
	if err := samtemplate.Literal(p.EventPattern); err != nil {
		return ruleSpec{}, fmt.Errorf("rule %s, EventPattern: %w", id, err)
	}
	var pattern any
	if err := p.EventPattern.Decode(&pattern); err != nil {
		return ruleSpec{}, fmt.Errorf("rule %s, EventPattern: %w", id, err)
	}
	if text, ok := pattern.(string); ok { // CloudFormation takes the pattern as JSON text too
		r.pattern = text
	} else {
		b, err := json.Marshal(pattern)
		if err != nil {
			return ruleSpec{}, fmt.Errorf("rule %s, EventPattern: %w", id, err)
		}
		r.pattern = string(b)
	}
	for i, t := range p.Targets {
		var (
			ts  targetSpec
			err error
		)
		if ts.id, err = tmpl.Value(t.ID); err != nil {
			return ruleSpec{}, fmt.Errorf("rule %s, target %d, Id: %w", id, i+1, err)
		}
		if ts.queue, err = tmpl.ResourceRef(t.Arn); err != nil {
			return ruleSpec{}, fmt.Errorf("rule %s, target %s, Arn: %w", id, ts.id, err)
		}
		if !t.DeadLetterConfig.Arn.IsZero() {
			if ts.dlq, err = tmpl.ResourceRef(t.DeadLetterConfig.Arn); err != nil {
				return ruleSpec{}, fmt.Errorf("rule %s, target %s, DeadLetterConfig: %w", id, ts.id, err)
			}
		}
		for _, f := range []struct {
			n   yaml.Node
			dst **int32
		}{{t.RetryPolicy.MaximumRetryAttempts, &ts.maxAttempts}, {t.RetryPolicy.MaximumEventAgeInSeconds, &ts.maxAge}} {
			if f.n.IsZero() {
				continue
			}
			v, err := tmpl.Int(f.n)
			if err != nil {
				return ruleSpec{}, fmt.Errorf("rule %s, target %s, RetryPolicy: %w", id, ts.id, err)
			}
			v32 := int32(v)
			*f.dst = &v32
		}
		r.targets = append(r.targets, ts)
	}
	return r, nil
}

// Mapping is a function's SQS event source mapping as the template
// defines it: what the local poller needs to stand in for Lambda's.
type Mapping struct {
	// Function is the function's logical id.
	Function string
	// Queue is the logical id of the queue it reads.
	Queue string
	// BatchSize is the most messages per invocation (SQS default 10).
	BatchSize int
	// MaximumConcurrency caps concurrent invocations (2, Lambda's
	// smallest cap, when the template sets none).
	MaximumConcurrency int
	// ReportBatchItemFailures says the function reports failed messages
	// one by one, in batchItemFailures.
	ReportBatchItemFailures bool
	// Timeout is the function timeout (its own, else the Globals one,
	// else Lambda's default of 3 s).
	Timeout time.Duration
}

// ReadMapping reads the SQS event of the function with logical id
// function. It must have exactly one.
func ReadMapping(tmpl *samtemplate.Template, function string) (Mapping, error) {
	type fn struct {
		Timeout yaml.Node `yaml:"Timeout"`
		Events  map[string]struct {
			Type       string    `yaml:"Type"`
			Properties yaml.Node `yaml:"Properties"`
		} `yaml:"Events"`
	}
	var f, globals fn
	if err := tmpl.Decode(function, "AWS::Serverless::Function", &f); err != nil {
		return Mapping{}, err
	}
	if g, ok := tmpl.Globals["Function"]; ok {
		if err := g.Decode(&globals); err != nil {
			return Mapping{}, fmt.Errorf("decode Globals.Function: %w", err)
		}
	}
	m := Mapping{Function: function, BatchSize: 10, MaximumConcurrency: 2, Timeout: 3 * time.Second}
	for _, t := range []yaml.Node{globals.Timeout, f.Timeout} {
		if t.IsZero() {
			continue
		}
		s, err := tmpl.Int(t)
		if err != nil {
			return Mapping{}, fmt.Errorf("function %s, Timeout: %w", function, err)
		}
		m.Timeout = time.Duration(s) * time.Second
	}
	found := 0
	for name, ev := range f.Events {
		if ev.Type != "SQS" {
			continue
		}
		found++
		var p struct {
			Queue                 yaml.Node `yaml:"Queue"`
			BatchSize             yaml.Node `yaml:"BatchSize"`
			FunctionResponseTypes []string  `yaml:"FunctionResponseTypes"`
			ScalingConfig         struct {
				MaximumConcurrency yaml.Node `yaml:"MaximumConcurrency"`
			} `yaml:"ScalingConfig"`
		}
		if err := ev.Properties.Decode(&p); err != nil {
			return Mapping{}, fmt.Errorf("function %s, event %s: %w", function, name, err)
		}
		var err error
		if m.Queue, err = tmpl.ResourceRef(p.Queue); err != nil {
			return Mapping{}, fmt.Errorf("function %s, event %s, Queue: %w", function, name, err)
		}
		for _, f := range []struct {
			n   yaml.Node
			dst *int
		}{{p.BatchSize, &m.BatchSize}, {p.ScalingConfig.MaximumConcurrency, &m.MaximumConcurrency}} {
			if f.n.IsZero() {
				continue
			}
			if *f.dst, err = tmpl.Int(f.n); err != nil {
				return Mapping{}, fmt.Errorf("function %s, event %s: %w", function, name, err)
			}
		}
		for _, t := range p.FunctionResponseTypes {
			m.ReportBatchItemFailures = m.ReportBatchItemFailures || t == "ReportBatchItemFailures"
		}
	}
	if found != 1 {
		return Mapping{}, fmt.Errorf("function %s has %d SQS events; want 1", function, found)
	}
	return m, nil
}
