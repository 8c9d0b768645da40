// Package samtemplate reads template.yaml, so that local tooling and tests
// take their facts (the table's schema, the function's environment) from the
// one template that is deployed instead of from a second copy.
package samtemplate

import (
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"
)

// Template is the part of a SAM template this project reads. CloudFormation
// short-form tags (!Ref, !Sub, !GetAtt, ...) decode to their plain argument:
// "!Ref X" reads as "X".
type Template struct {
	// Transform names the SAM transform.
	Transform string `yaml:"Transform"`
	// Parameters maps parameter names to their declarations.
	Parameters map[string]Parameter `yaml:"Parameters"`
	// Globals holds SAM's global settings, by resource kind.
	Globals map[string]yaml.Node `yaml:"Globals"`
	// Resources maps logical ids to resources.
	Resources map[string]Resource `yaml:"Resources"`
}

// Parameter is one parameter of the template.
type Parameter struct {
	// Type is String, Number, CommaDelimitedList, ...
	Type string `yaml:"Type"`
	// Default is the value used when a deployment gives none.
	Default string `yaml:"Default"`
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
			ProjectionType string `yaml:"ProjectionType"`
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
	// Environment holds the function's environment variables.
	Environment struct {
		Variables map[string]string `yaml:"Variables"`
	} `yaml:"Environment"`
	// Policies are SAM policy templates and inline policy documents.
	Policies []yaml.Node `yaml:"Policies"`
}

// Statement is one IAM policy statement.
type Statement struct {
	// Sid names the statement.
	Sid string `yaml:"Sid"`
	// Effect is Allow or Deny.
	Effect string `yaml:"Effect"`
	// Action lists the granted actions, such as dynamodb:GetItem.
	Action []string `yaml:"Action"`
	// Resource is one ARN or a list of them.
	Resource any `yaml:"Resource"`
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
