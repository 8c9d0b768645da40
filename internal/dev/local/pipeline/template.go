package pipeline

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/docproc/webhooks/internal/dev/samtemplate"
)

// scalar returns the value of a template property that is a plain scalar
// or a !Ref (short or long form) to a parameter, which reads as the
// parameter's default.
func scalar(tmpl *samtemplate.Template, n yaml.Node) (string, error) {
	name, isRef := "", false
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!Ref":
		name, isRef = n.Value, true
	case n.Kind == yaml.ScalarNode && (n.Tag == "" || strings.HasPrefix(n.Tag, "!!")):
		return n.Value, nil
	case n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "Ref" && n.Content[1].Kind == yaml.ScalarNode:
		name, isRef = n.Content[1].Value, true
	}
	if !isRef {
		return "", fmt.Errorf("line %d: only a value or a !Ref to a parameter can be read locally", n.Line)
	}
	p, ok := tmpl.Parameters[name]
	if !ok {
		return "", fmt.Errorf("line %d: !Ref %s names no parameter", n.Line, name)
	}
	if p.Default == "" {
		return "", fmt.Errorf("line %d: parameter %s has no default", n.Line, name)
	}
	return p.Default, nil
}

// integer is scalar for a whole number.
func integer(tmpl *samtemplate.Template, n yaml.Node) (int, error) {
	v, err := scalar(tmpl, n)
	if err != nil {
		return 0, err
	}
	i, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("line %d: %q is not a whole number", n.Line, v)
	}
	return i, nil
}

// reference returns the logical id a property refers to: !GetAtt X.Arn,
// !Ref X, or their long forms {Fn::GetAtt: [X, Arn]}, {Fn::GetAtt:
// X.Arn} and {Ref: X}.
func reference(n yaml.Node) (string, error) {
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!GetAtt":
		id, _, _ := strings.Cut(n.Value, ".")
		return id, nil
	case n.Kind == yaml.ScalarNode && n.Tag == "!Ref":
		return n.Value, nil
	case n.Kind == yaml.SequenceNode && n.Tag == "!GetAtt" && len(n.Content) == 2:
		return n.Content[0].Value, nil
	case n.Kind == yaml.MappingNode && len(n.Content) == 2:
		key, v := n.Content[0].Value, n.Content[1]
		switch {
		case key == "Ref" && v.Kind == yaml.ScalarNode:
			return v.Value, nil
		case key == "Fn::GetAtt" && v.Kind == yaml.ScalarNode:
			id, _, _ := strings.Cut(v.Value, ".")
			return id, nil
		case key == "Fn::GetAtt" && v.Kind == yaml.SequenceNode && len(v.Content) == 2:
			return v.Content[0].Value, nil
		}
	}
	return "", fmt.Errorf("line %d: not a !GetAtt or !Ref of a resource", n.Line)
}

// queueProperties are the properties of an AWS::SQS::Queue read here.
type queueProperties struct {
	FifoQueue     bool                 `yaml:"FifoQueue"`
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
	q := queueSpec{id: id, fifo: p.FifoQueue, attributes: map[string]string{}}
	for _, name := range numericQueueAttributes {
		n, ok := p.Numbers[name]
		if !ok {
			continue
		}
		v, err := integer(tmpl, n)
		if err != nil {
			return queueSpec{}, fmt.Errorf("queue %s, %s: %w", id, name, err)
		}
		q.attributes[name] = strconv.Itoa(v)
	}
	if rp := p.RedrivePolicy; rp != nil {
		var err error
		if q.dlq, err = reference(rp.DeadLetterTargetArn); err != nil {
			return queueSpec{}, fmt.Errorf("queue %s, RedrivePolicy.deadLetterTargetArn: %w", id, err)
		}
		if q.maxReceive, err = integer(tmpl, rp.MaxReceiveCount); err != nil {
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
		EventPattern any    `yaml:"EventPattern"`
		State        string `yaml:"State"`
		Targets      []struct {
			ID               string    `yaml:"Id"`
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
	r := ruleSpec{enabled: p.State == "" || p.State == "ENABLED"}
	switch pat := p.EventPattern.(type) {
	case nil:
		return ruleSpec{}, fmt.Errorf("rule %s has no EventPattern", id)
	case string: // CloudFormation takes the pattern as JSON text too
		r.pattern = pat
	default:
		b, err := json.Marshal(pat)
		if err != nil {
			return ruleSpec{}, fmt.Errorf("rule %s, EventPattern: %w", id, err)
		}
		r.pattern = string(b)
	}
	for _, t := range p.Targets {
		ts := targetSpec{id: t.ID}
		var err error
		if ts.queue, err = reference(t.Arn); err != nil {
			return ruleSpec{}, fmt.Errorf("rule %s, target %s: %w", id, t.ID, err)
		}
		if !t.DeadLetterConfig.Arn.IsZero() {
			if ts.dlq, err = reference(t.DeadLetterConfig.Arn); err != nil {
				return ruleSpec{}, fmt.Errorf("rule %s, target %s, DeadLetterConfig: %w", id, t.ID, err)
			}
		}
		for _, f := range []struct {
			n   yaml.Node
			dst **int32
		}{{t.RetryPolicy.MaximumRetryAttempts, &ts.maxAttempts}, {t.RetryPolicy.MaximumEventAgeInSeconds, &ts.maxAge}} {
			if f.n.IsZero() {
				continue
			}
			v, err := integer(tmpl, f.n)
			if err != nil {
				return ruleSpec{}, fmt.Errorf("rule %s, target %s, RetryPolicy: %w", id, t.ID, err)
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
		s, err := integer(tmpl, t)
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
		if m.Queue, err = reference(p.Queue); err != nil {
			return Mapping{}, fmt.Errorf("function %s, event %s, Queue: %w", function, name, err)
		}
		for _, f := range []struct {
			n   yaml.Node
			dst *int
		}{{p.BatchSize, &m.BatchSize}, {p.ScalingConfig.MaximumConcurrency, &m.MaximumConcurrency}} {
			if f.n.IsZero() {
				continue
			}
			if *f.dst, err = integer(tmpl, f.n); err != nil {
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
