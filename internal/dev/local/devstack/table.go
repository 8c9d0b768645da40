package devstack

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/dev/samtemplate"
)

// TableLogicalID is the table's logical id in template.yaml.
const TableLogicalID = "WebhooksTable"

// CreateTableInput builds the CreateTable call for table name from the
// table defined in the template, so local and deployed schemas match. It
// also returns the TTL attribute ("" if none).
func CreateTableInput(tmpl *samtemplate.Template, name string) (*dynamodb.CreateTableInput, string, error) {
	var t samtemplate.Table
	if err := tmpl.Decode(TableLogicalID, "AWS::DynamoDB::Table", &t); err != nil {
		return nil, "", err
	}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingMode(t.BillingMode),
	}
	for _, a := range t.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName), AttributeType: types.ScalarAttributeType(a.AttributeType)})
	}
	in.KeySchema = keySchema(t.KeySchema)
	for _, g := range t.GlobalSecondaryIndexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName: aws.String(g.IndexName),
			KeySchema: keySchema(g.KeySchema),
			Projection: &types.Projection{ProjectionType: types.ProjectionType(g.Projection.ProjectionType),
				NonKeyAttributes: g.Projection.NonKeyAttributes},
		})
	}
	if t.SSESpecification.SSEEnabled {
		in.SSESpecification = &types.SSESpecification{Enabled: aws.Bool(true)}
	}
	ttl := ""
	if t.TimeToLiveSpecification.Enabled {
		ttl = t.TimeToLiveSpecification.AttributeName
	}
	return in, ttl, nil
}

// keySchema converts a template key schema to the SDK's.
func keySchema(elems []samtemplate.KeyElement) []types.KeySchemaElement {
	out := make([]types.KeySchemaElement, len(elems))
	for i, k := range elems {
		out[i] = types.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: types.KeyType(k.KeyType)}
	}
	return out
}

// EnsureTable creates table name as the template defines it, unless it
// exists, waits for it to be active and turns on its TTL. A table an
// earlier run created gets the indexes the template has added since, as
// a stack update adds them.
func EnsureTable(ctx context.Context, client *dynamodb.Client, tmpl *samtemplate.Template, name string) error {
	in, ttl, err := CreateTableInput(tmpl, name)
	if err != nil {
		return err
	}
	_, err = client.CreateTable(ctx, in)
	var inUse *types.ResourceInUseException
	switch {
	case errors.As(err, &inUse):
		return addIndexes(ctx, client, in) // already there, from an earlier run
	case err != nil:
		return fmt.Errorf("create table %s: %w", name, err)
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
		return fmt.Errorf("wait for table %s: %w", name, err)
	}
	if ttl == "" {
		return nil
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(ttl), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("enable ttl on %s: %w", name, err)
	}
	return nil
}

// addIndexes adds to the existing table in.TableName the indexes of in
// that it lacks.
func addIndexes(ctx context.Context, client *dynamodb.Client, in *dynamodb.CreateTableInput) error {
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName})
	if err != nil {
		return fmt.Errorf("describe table %s: %w", aws.ToString(in.TableName), err)
	}
	have := map[string]bool{}
	for _, g := range out.Table.GlobalSecondaryIndexes {
		have[aws.ToString(g.IndexName)] = true
	}
	for _, g := range in.GlobalSecondaryIndexes {
		if have[aws.ToString(g.IndexName)] {
			continue
		}
		_, err := client.UpdateTable(ctx, &dynamodb.UpdateTableInput{
			TableName:            in.TableName,
			AttributeDefinitions: in.AttributeDefinitions,
			GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Create: &types.CreateGlobalSecondaryIndexAction{
				IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection}}},
		})
		if err != nil {
			return fmt.Errorf("add index %s to table %s: %w", aws.ToString(g.IndexName), aws.ToString(in.TableName), err)
		}
	}
	return nil
}
