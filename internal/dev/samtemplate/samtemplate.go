// Package samtemplate reads template.yaml, so that local tooling and tests
// take their facts (the table's schema, the function's environment, the
// pipeline's queues and rule) from the one template that is deployed
// instead of from a second copy. Value, Int, Bool, ResourceRef and Literal
// resolve the intrinsic functions that have a value before deploying, and
// name, with its line, any that has not.
package samtemplate

import (
	"fmt"
	"os"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Template is the part of a SAM template this project reads. In the typed
// structs of this package, which the template's tests check, a
// CloudFormation short-form tag (!Ref, !Sub, !GetAtt, ...) decodes to its
// plain argument: "!Ref X" reads as "X". Tooling that acts on a value
// decodes the property as a yaml.Node and reads it with Value, Int, Bool
// or ResourceRef instead.
type Template struct {
	// Transform names the SAM transform.
	Transform string `yaml:"Transform"`
	// Parameters maps parameter names to their declarations.
	Parameters map[string]Parameter `yaml:"Parameters"`
	// Globals holds SAM's global settings, by resource kind.
	Globals map[string]yaml.Node `yaml:"Globals"`
	// Resources maps logical ids to resources.
	Resources map[string]Resource `yaml:"Resources"`
	// Outputs maps output names to their declarations.
	Outputs map[string]struct {
		// Value is the output's value.
		Value string `yaml:"Value"`
	} `yaml:"Outputs"`
}

// Parameter is one template parameter.
type Parameter struct {
	// Type is String or Number.
	Type string `yaml:"Type"`
	// Default is the value when none is given, as written.
	Default string `yaml:"Default"`
	// AllowedPattern is the regular expression a String value must match.
	AllowedPattern string `yaml:"AllowedPattern"`
	// MinValue and MaxValue bound a Number value; nil when unbounded.
	MinValue *int `yaml:"MinValue"`
	// MaxValue is the largest Number value accepted.
	MaxValue *int `yaml:"MaxValue"`
}

// IDs returns the logical ids of the resources of type typ, sorted.
func (t *Template) IDs(typ string) []string {
	var ids []string
	for id, r := range t.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// Resource is one resource of the template.
type Resource struct {
	// Type is the resource type, such as AWS::DynamoDB::Table.
	Type string `yaml:"Type"`
	// Properties is left undecoded; Decode reads it into a typed struct.
	Properties yaml.Node `yaml:"Properties"`
	// Metadata is left undecoded.
	Metadata yaml.Node `yaml:"Metadata"`
}

// Load reads and parses the template at path.
func Load(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	var t Template
	if err := yaml.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("parse template %s: %w", path, err)
	}
	return &t, nil
}

// Decode reads the properties of the resource with logicalID, which must
// have type typ, into v.
func (t *Template) Decode(logicalID, typ string, v any) error {
	r, ok := t.Resources[logicalID]
	if !ok {
		return fmt.Errorf("template has no resource %s", logicalID)
	}
	if r.Type != typ {
		return fmt.Errorf("resource %s is a %s, not a %s", logicalID, r.Type, typ)
	}
	if err := r.Properties.Decode(v); err != nil {
		return fmt.Errorf("decode properties of %s: %w", logicalID, err)
	}
	return nil
}

// Table is the part of an AWS::DynamoDB::Table's properties that defines
// its schema. Fields carry the CloudFormation property names.
type Table struct {
	// BillingMode is PAY_PER_REQUEST or PROVISIONED.
	BillingMode string `yaml:"BillingMode"`
	// AttributeDefinitions lists the key attributes and their types.
	AttributeDefinitions []struct {
		AttributeName string `yaml:"AttributeName"`
		AttributeType string `yaml:"AttributeType"`
	} `yaml:"AttributeDefinitions"`
	// KeySchema names the partition (HASH) and sort (RANGE) keys.
	KeySchema []KeyElement `yaml:"KeySchema"`
	// GlobalSecondaryIndexes are the table's global indexes.
	GlobalSecondaryIndexes []struct {
		IndexName  string       `yaml:"IndexName"`
		KeySchema  []KeyElement `yaml:"KeySchema"`
		Projection struct {
			ProjectionType   string   `yaml:"ProjectionType"`
			NonKeyAttributes []string `yaml:"NonKeyAttributes"`
		} `yaml:"Projection"`
	} `yaml:"GlobalSecondaryIndexes"`
	// TimeToLiveSpecification names the expiry attribute.
	TimeToLiveSpecification struct {
		AttributeName string `yaml:"AttributeName"`
		Enabled       bool   `yaml:"Enabled"`
	} `yaml:"TimeToLiveSpecification"`
	// PointInTimeRecoverySpecification turns on continuous backups.
	PointInTimeRecoverySpecification struct {
		PointInTimeRecoveryEnabled bool `yaml:"PointInTimeRecoveryEnabled"`
	} `yaml:"PointInTimeRecoverySpecification"`
	// SSESpecification turns on encryption at rest.
	SSESpecification struct {
		SSEEnabled bool `yaml:"SSEEnabled"`
	} `yaml:"SSESpecification"`
}

// KeyElement is one attribute of a table's or an index's key.
type KeyElement struct {
	// AttributeName names the attribute.
	AttributeName string `yaml:"AttributeName"`
	// KeyType is HASH (partition) or RANGE (sort).
	KeyType string `yaml:"KeyType"`
}

// Function is the part of an AWS::Serverless::Function's properties this
// project checks. Empty fields fall back to the template's Globals.
type Function struct {
	// CodeUri is the source folder given to `sam build`.
	CodeUri string `yaml:"CodeUri"`
	// Runtime is the Lambda runtime, such as provided.al2023.
	Runtime string `yaml:"Runtime"`
	// Handler is the executable's name for custom runtimes.
	Handler string `yaml:"Handler"`
	// Architectures is arm64 or x86_64.
	Architectures []string `yaml:"Architectures"`
	// Timeout is the function timeout in seconds (0: the Globals value).
	Timeout int `yaml:"Timeout"`
	// MemorySize is the function's memory in MB (0: the Globals value).
	MemorySize int `yaml:"MemorySize"`
	// Environment holds the function's environment variables.
	Environment struct {
		Variables map[string]string `yaml:"Variables"`
	} `yaml:"Environment"`
	// Policies are SAM policy templates and inline policy documents.
	Policies []yaml.Node `yaml:"Policies"`
	// Events are the function's triggers, by name.
	Events map[string]Event `yaml:"Events"`
}

// Event is one trigger of a function. Properties hold the fields of every
// type this project uses; those another type lacks stay empty.
type Event struct {
	// Type is the event source type, such as SQS or HttpApi.
	Type string `yaml:"Type"`
	// Properties configure the source.
	Properties struct {
		// Queue is the ARN of an SQS source's queue.
		Queue string `yaml:"Queue"`
		// BatchSize is the most SQS messages given to one invocation.
		BatchSize int `yaml:"BatchSize"`
		// FunctionResponseTypes holds ReportBatchItemFailures when the
		// function reports failed messages one by one.
		FunctionResponseTypes []string `yaml:"FunctionResponseTypes"`
		// ScalingConfig caps an SQS source's concurrent invocations.
		ScalingConfig struct {
			// MaximumConcurrency is a number or a parameter's name.
			MaximumConcurrency string `yaml:"MaximumConcurrency"`
		} `yaml:"ScalingConfig"`
		// Path and Method are an HttpApi route.
		Path string `yaml:"Path"`
		// Method is the route's HTTP method.
		Method string `yaml:"Method"`
	} `yaml:"Properties"`
}

// Queue is the part of an AWS::SQS::Queue's properties this project checks.
type Queue struct {
	// VisibilityTimeout is how long, in seconds, a received message stays
	// hidden.
	VisibilityTimeout int `yaml:"VisibilityTimeout"`
	// MessageRetentionPeriod is how long, in seconds, a message is kept.
	MessageRetentionPeriod int `yaml:"MessageRetentionPeriod"`
	// SqsManagedSseEnabled turns on encryption at rest with SQS's keys.
	SqsManagedSseEnabled bool `yaml:"SqsManagedSseEnabled"`
	// RedrivePolicy names the dead-letter queue; empty when there is none.
	RedrivePolicy struct {
		// DeadLetterTargetArn is the dead-letter queue's ARN.
		DeadLetterTargetArn string `yaml:"deadLetterTargetArn"`
		// MaxReceiveCount is how many receives move a message there.
		MaxReceiveCount int `yaml:"maxReceiveCount"`
	} `yaml:"RedrivePolicy"`
}

// QueuePolicy is an AWS::SQS::QueuePolicy's properties.
type QueuePolicy struct {
	// Queues are the URLs of the queues the policy applies to.
	Queues []string `yaml:"Queues"`
	// PolicyDocument is the resource policy.
	PolicyDocument struct {
		// Statement lists the policy's statements.
		Statement []Statement `yaml:"Statement"`
	} `yaml:"PolicyDocument"`
}

// Rule is the part of an AWS::Events::Rule's properties this project
// checks.
type Rule struct {
	// EventBusName is the bus the rule watches.
	EventBusName string `yaml:"EventBusName"`
	// EventPattern is the pattern events must match.
	EventPattern map[string]any `yaml:"EventPattern"`
	// State is ENABLED or DISABLED.
	State string `yaml:"State"`
	// Targets are where matching events go.
	Targets []Target `yaml:"Targets"`
}

// Target is one target of an EventBridge rule.
type Target struct {
	// Id names the target within its rule.
	Id string `yaml:"Id"`
	// Arn is the target's ARN.
	Arn string `yaml:"Arn"`
	// Input, InputPath and InputTransformer change what the target gets;
	// all empty, it gets the whole event.
	Input string `yaml:"Input"`
	// InputPath selects part of the event.
	InputPath string `yaml:"InputPath"`
	// InputTransformer rewrites the event.
	InputTransformer yaml.Node `yaml:"InputTransformer"`
	// DeadLetterConfig is where events go that cannot be delivered.
	DeadLetterConfig struct {
		// Arn is the dead-letter queue's ARN.
		Arn string `yaml:"Arn"`
	} `yaml:"DeadLetterConfig"`
	// RetryPolicy bounds EventBridge's retries to the target.
	RetryPolicy struct {
		// MaximumEventAgeInSeconds is how long an event is retried.
		MaximumEventAgeInSeconds int `yaml:"MaximumEventAgeInSeconds"`
		// MaximumRetryAttempts is how many times it is retried.
		MaximumRetryAttempts int `yaml:"MaximumRetryAttempts"`
	} `yaml:"RetryPolicy"`
}

// Alarm is the part of an AWS::CloudWatch::Alarm's properties this project
// checks: a single metric or metric math over Metrics.
type Alarm struct {
	// AlarmDescription is what the alarm's notification says.
	AlarmDescription string `yaml:"AlarmDescription"`
	// Namespace, MetricName and Dimensions name a single-metric alarm's
	// metric.
	Namespace string `yaml:"Namespace"`
	// MetricName is the metric's name.
	MetricName string `yaml:"MetricName"`
	// Dimensions select the metric's series.
	Dimensions []Dimension `yaml:"Dimensions"`
	// Statistic is the statistic compared, such as Sum or Maximum.
	Statistic string `yaml:"Statistic"`
	// ExtendedStatistic is a percentile, such as p99.
	ExtendedStatistic string `yaml:"ExtendedStatistic"`
	// Period is the length, in seconds, of a period.
	Period int `yaml:"Period"`
	// EvaluationPeriods is how many periods are compared.
	EvaluationPeriods int `yaml:"EvaluationPeriods"`
	// DatapointsToAlarm is how many of those periods must breach for the
	// alarm to fire; 0 means all of them.
	DatapointsToAlarm int `yaml:"DatapointsToAlarm"`
	// TreatMissingData says how a period without data counts, such as
	// notBreaching.
	TreatMissingData string `yaml:"TreatMissingData"`
	// Threshold is the value compared against, or a parameter's name.
	Threshold string `yaml:"Threshold"`
	// ComparisonOperator is how the value is compared.
	ComparisonOperator string `yaml:"ComparisonOperator"`
	// Metrics are a metric-math alarm's queries.
	Metrics []MetricQuery `yaml:"Metrics"`
	// AlarmActions are notified when the alarm fires.
	AlarmActions yaml.Node `yaml:"AlarmActions"`
}

// Dimension is one dimension of a metric.
type Dimension struct {
	// Name is the dimension's name, such as QueueName.
	Name string `yaml:"Name"`
	// Value is its value, often an attribute such as FanoutQueue.QueueName.
	Value string `yaml:"Value"`
}

// MetricQuery is one query of a metric-math alarm.
type MetricQuery struct {
	// Id names the query in expressions.
	Id string `yaml:"Id"`
	// Expression is the math, for a query without MetricStat.
	Expression string `yaml:"Expression"`
	// MetricStat is a metric read, for a query without Expression.
	MetricStat struct {
		// Metric names the metric.
		Metric struct {
			// Namespace is the metric's namespace.
			Namespace string `yaml:"Namespace"`
			// MetricName is the metric's name.
			MetricName string `yaml:"MetricName"`
			// Dimensions select the metric's series; none for EMF metrics
			// logged without dimensions.
			Dimensions []Dimension `yaml:"Dimensions"`
		} `yaml:"Metric"`
		// Period is the length, in seconds, of a period.
		Period int `yaml:"Period"`
		// Stat is the statistic, such as Sum.
		Stat string `yaml:"Stat"`
	} `yaml:"MetricStat"`
}

// Statement is one IAM policy statement.
type Statement struct {
	// Sid names the statement.
	Sid string `yaml:"Sid"`
	// Effect is Allow or Deny.
	Effect string `yaml:"Effect"`
	// Action lists the granted actions, such as dynamodb:GetItem.
	Action Strings `yaml:"Action"`
	// Principal is who a resource policy's statement applies to, such as
	// {Service: events.amazonaws.com}.
	Principal any `yaml:"Principal"`
	// Resource is one ARN or a list of them.
	Resource any `yaml:"Resource"`
	// NotResource is one ARN or a list of them: the statement applies to
	// every resource but these.
	NotResource any `yaml:"NotResource"`
	// Condition maps operators (ForAllValues:StringLike) to condition keys
	// (dynamodb:LeadingKeys) and their values.
	Condition map[string]map[string]any `yaml:"Condition"`
}

// LeadingKeys returns the dynamodb:LeadingKeys patterns the statement's
// ForAllValues:StringLike condition allows, nil if it has none.
func (s Statement) LeadingKeys() []string {
	var out []string
	switch v := s.Condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"].(type) {
	case string:
		out = append(out, v)
	case []any:
		for _, p := range v {
			out = append(out, fmt.Sprint(p))
		}
	}
	return out
}

// Attributes returns the attributes the statement limits its actions to
// (ForAllValues:StringEquals dynamodb:Attributes), nil when it does not.
func (s Statement) Attributes() []string {
	return list(s.Condition["ForAllValues:StringEquals"]["dynamodb:Attributes"])
}

// Resources returns the statement's Resource as a list.
func (s Statement) Resources() []string { return list(s.Resource) }

// NotResources returns the statement's NotResource as a list.
func (s Statement) NotResources() []string { return list(s.NotResource) }

// list reads a value that IAM allows to be one string or a list of them.
func list(v any) []string {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		out := make([]string, len(v))
		for i, p := range v {
			out[i] = fmt.Sprint(p)
		}
		return out
	default:
		return []string{fmt.Sprint(v)}
	}
}

// Strings is a list of strings that IAM also allows to be written as one
// string.
type Strings []string

// UnmarshalYAML reads one string or a list of them.
func (s *Strings) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = Strings{n.Value}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*s = l
	return nil
}
