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
	// Globals holds SAM's global settings, by resource kind.
	Globals map[string]yaml.Node `yaml:"Globals"`
	// Resources maps logical ids to resources.
	Resources map[string]Resource `yaml:"Resources"`
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
// its schema.
type Table struct {
	BillingMode          string `yaml:"BillingMode"`
	AttributeDefinitions []struct {
		AttributeName string `yaml:"AttributeName"`
		AttributeType string `yaml:"AttributeType"`
	} `yaml:"AttributeDefinitions"`
	KeySchema []struct {
		AttributeName string `yaml:"AttributeName"`
		KeyType       string `yaml:"KeyType"`
	} `yaml:"KeySchema"`
	TimeToLiveSpecification struct {
		AttributeName string `yaml:"AttributeName"`
		Enabled       bool   `yaml:"Enabled"`
	} `yaml:"TimeToLiveSpecification"`
	PointInTimeRecoverySpecification struct {
		PointInTimeRecoveryEnabled bool `yaml:"PointInTimeRecoveryEnabled"`
	} `yaml:"PointInTimeRecoverySpecification"`
	SSESpecification struct {
		SSEEnabled bool `yaml:"SSEEnabled"`
	} `yaml:"SSESpecification"`
}

// Function is the part of an AWS::Serverless::Function's properties this
// project checks.
type Function struct {
	CodeUri       string   `yaml:"CodeUri"`
	Runtime       string   `yaml:"Runtime"`
	Handler       string   `yaml:"Handler"`
	Architectures []string `yaml:"Architectures"`
	Environment   struct {
		Variables map[string]string `yaml:"Variables"`
	} `yaml:"Environment"`
	Policies []yaml.Node `yaml:"Policies"`
}

// Statement is one IAM policy statement.
type Statement struct {
	Sid      string   `yaml:"Sid"`
	Effect   string   `yaml:"Effect"`
	Action   []string `yaml:"Action"`
	Resource any      `yaml:"Resource"`
}
