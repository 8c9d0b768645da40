package samtemplate_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/docproc/webhooks/internal/api"
	"github.com/docproc/webhooks/internal/config"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/samtemplate"
	"github.com/docproc/webhooks/internal/dynamo"
)

const templatePath = "../../../template.yaml"

func load(t *testing.T) *samtemplate.Template {
	t.Helper()
	tmpl, err := samtemplate.Load(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// functions returns every AWS::Serverless::Function in the template.
func functions(t *testing.T, tmpl *samtemplate.Template) map[string]samtemplate.Function {
	t.Helper()
	fns := map[string]samtemplate.Function{}
	for id, r := range tmpl.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		var fn samtemplate.Function
		if err := tmpl.Decode(id, r.Type, &fn); err != nil {
			t.Fatal(err)
		}
		fns[id] = fn
	}
	if len(fns) == 0 {
		t.Fatal("template declares no function")
	}
	return fns
}

func TestFunctionRuntime(t *testing.T) {
	tmpl := load(t)
	var globals struct {
		Runtime       string   `yaml:"Runtime"`
		Architectures []string `yaml:"Architectures"`
		Handler       string   `yaml:"Handler"`
	}
	node := tmpl.Globals["Function"]
	if err := node.Decode(&globals); err != nil {
		t.Fatal(err)
	}
	for id, fn := range functions(t, tmpl) {
		runtime, arch, handler := fn.Runtime, fn.Architectures, fn.Handler
		if runtime == "" {
			runtime = globals.Runtime
		}
		if arch == nil {
			arch = globals.Architectures
		}
		if handler == "" {
			handler = globals.Handler
		}
		if runtime != "provided.al2023" || !slices.Equal(arch, []string{"arm64"}) || handler != "bootstrap" {
			t.Errorf("%s: runtime %q, architectures %v, handler %q; want provided.al2023, [arm64], bootstrap", id, runtime, arch, handler)
		}
		if fn.CodeUri != "." {
			t.Errorf("%s: CodeUri %q, want . (the root go.mod)", id, fn.CodeUri)
		}
		var meta struct {
			BuildMethod string `yaml:"BuildMethod"`
		}
		m := tmpl.Resources[id].Metadata
		if err := m.Decode(&meta); err != nil || meta.BuildMethod != "makefile" {
			t.Errorf("%s: BuildMethod %q, want makefile", id, meta.BuildMethod)
		}
	}
}

func TestEnvironmentMatchesConfig(t *testing.T) {
	fns := functions(t, load(t))
	for id, want := range map[string][]string{
		"ApiFunction":     slices.Concat(config.APIRequired, config.APIOptional, config.SDKVariables),
		"JanitorFunction": slices.Concat(config.JanitorRequired, config.JanitorOptional, config.SDKVariables),
		"FanoutFunction":  slices.Concat(config.FanoutRequired, config.FanoutOptional, config.SDKVariables),
		// The local-only variables are read but never set in AWS.
		"DeliveryFunction": slices.DeleteFunc(slices.Concat(config.DeliveryRequired, config.DeliveryOptional, config.SDKVariables),
			func(v string) bool { return slices.Contains(config.LocalOnly, v) }),
	} {
		got := slices.Sorted(maps.Keys(fns[id].Environment.Variables))
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: template sets %v; the code reads %v", id, got, want)
		}
	}
}

func TestAPITimeoutLeavesRoomForCleanUp(t *testing.T) {
	tmpl := load(t)
	var globals struct {
		Timeout int `yaml:"Timeout"`
	}
	node := tmpl.Globals["Function"]
	if err := node.Decode(&globals); err != nil {
		t.Fatal(err)
	}
	timeout := time.Duration(globals.Timeout) * time.Second
	if fn := functions(t, tmpl)["ApiFunction"]; fn.Timeout != 0 {
		timeout = time.Duration(fn.Timeout) * time.Second
	}
	if work := timeout - api.DeadlineMargin; work < 3*time.Second {
		t.Errorf("ApiFunction timeout %v leaves %v for AWS calls after the %v margin; want at least 3s",
			timeout, work, api.DeadlineMargin)
	}
}

// statements returns the IAM statements of a function's inline policies.
func statements(t *testing.T, fn samtemplate.Function) []samtemplate.Statement {
	t.Helper()
	var out []samtemplate.Statement
	var collect func(n *yaml.Node)
	collect = func(n *yaml.Node) {
		for i, c := range n.Content {
			if n.Kind == yaml.MappingNode && i%2 == 1 && n.Content[i-1].Value == "Statement" {
				var st []samtemplate.Statement
				if err := c.Decode(&st); err != nil {
					t.Fatal(err)
				}
				out = append(out, st...)
				continue
			}
			collect(c)
		}
	}
	for i := range fn.Policies {
		collect(&fn.Policies[i])
	}
	return out
}

func TestIAMIsLeastPrivilege(t *testing.T) {
	// Each grant is "action on resource", with the resource named by kind
	// and, for DynamoDB, the partition key prefixes it is limited to.
	want := map[string][]string{
		"ApiFunction": {
			"dynamodb:GetItem on table", "dynamodb:BatchGetItem on table", "dynamodb:Query on table",
			// An account's events by time, for a recovery; never the
			// by-account index of API keys.
			"dynamodb:Query on table index events-by-time",
			// Webhooks, checks, a manual send's delivery state and rate
			// counters, test events.
			"dynamodb:DeleteItem on table keys ACCOUNT#* CHECK#* ENDPOINT#* EVENT#*",
			"dynamodb:PutItem on table keys ACCOUNT#* CHECK#* ENDPOINT#* EVENT#*",
			"dynamodb:UpdateItem on table keys ACCOUNT#* CHECK#* ENDPOINT#* EVENT#*",
			"sqs:SendMessage on delivery queue",
			"kms:Decrypt on kms key", "kms:GenerateDataKey on kms key",
			"secretsmanager:CreateSecret on prefix", "secretsmanager:DeleteSecret on prefix",
			"secretsmanager:GetSecretValue on prefix", "secretsmanager:PutSecretValue on prefix",
			"secretsmanager:TagResource on prefix",
		},
		"JanitorFunction": {
			"dynamodb:DeleteItem on table keys CHECK#*", "dynamodb:GetItem on table keys ACCOUNT#* CHECK#*",
			"dynamodb:PutItem on table keys CHECK#*", "dynamodb:Query on table keys ACCOUNT#* CHECK#*",
			"dynamodb:UpdateItem on table keys ACCOUNT#*",
			// Pruning reads and writes secret values: with a customer-managed
			// key the janitor needs it as the API does.
			"kms:Decrypt on kms key", "kms:GenerateDataKey on kms key",
			"secretsmanager:DeleteSecret on prefix", "secretsmanager:GetSecretValue on prefix",
			"secretsmanager:PutSecretValue on prefix",
		},
		"FanoutFunction": {
			// The account's webhooks, and the event log.
			"dynamodb:GetItem on table keys EVENT#*", "dynamodb:PutItem on table keys EVENT#*",
			"dynamodb:Query on table keys ACCOUNT#*",
			"sqs:SendMessage on delivery queue", "sqs:SendMessage on fanout dead-letter queue",
			// A failed event's wait, held as its visibility.
			"sqs:ChangeMessageVisibility on fanout queue",
			// SAM's AWSLambdaSQSQueueExecutionRole allows these on "*".
			"deny sqs:ChangeMessageVisibility outside fanout queue", "deny sqs:DeleteMessage outside fanout queue",
			"deny sqs:GetQueueAttributes outside fanout queue", "deny sqs:ReceiveMessage outside fanout queue",
		},
		"DeliveryFunction": {
			"dynamodb:BatchGetItem on table keys ACCOUNT#* ENDPOINT#*",
			"dynamodb:GetItem on table keys ACCOUNT#* ENDPOINT#*", "dynamodb:PutItem on table keys ENDPOINT#*",
			"dynamodb:UpdateItem on table keys ENDPOINT#*",
			// The health of a webhook, never its url, events or secret.
			"dynamodb:UpdateItem on table keys ACCOUNT#* attributes pk sk is_active failing_since failing_attempts disabled_reason disabled_at updated_at version",
			"kms:Decrypt on kms key",
			"secretsmanager:GetSecretValue on prefix",
			// A failed step's wait, held as its visibility; the next
			// attempt, parked as a delayed message.
			"sqs:ChangeMessageVisibility on delivery queue", "sqs:SendMessage on delivery queue",
			"events:PutEvents on event bus source " + delivery.NoticeSource,
			"deny sqs:ChangeMessageVisibility outside delivery queue", "deny sqs:DeleteMessage outside delivery queue",
			"deny sqs:GetQueueAttributes outside delivery queue", "deny sqs:ReceiveMessage outside delivery queue",
		},
		"SweeperFunction": {
			// The due deliveries, their events' payloads, and their
			// resend time only.
			"dynamodb:Query on table index " + dynamo.DueIndex, "dynamodb:BatchGetItem on table keys EVENT#*",
			"dynamodb:UpdateItem on table keys ENDPOINT#* attributes pk sk resend_shard resend_at attempts state",
			"sqs:SendMessage on delivery queue",
		},
	}
	fns := functions(t, load(t))
	for id, want := range want {
		var got []string
		for _, st := range statements(t, fns[id]) {
			keys := ""
			if lk := st.LeadingKeys(); lk != nil {
				sort.Strings(lk)
				keys = " keys " + strings.Join(lk, " ")
			}
			if attrs := st.Attributes(); attrs != nil {
				keys += " attributes " + strings.Join(attrs, " ")
			}
			if src, ok := st.Condition["StringEquals"]["events:source"]; ok {
				keys += fmt.Sprint(" source ", src)
			}
			switch {
			case st.Effect == "Allow" && st.NotResource == nil:
				for _, a := range st.Action {
					for _, r := range st.Resources() {
						got = append(got, a+" on "+resourceKind(r)+keys)
					}
				}
			case st.Effect == "Deny" && st.Resource == nil && st.Condition == nil:
				for _, a := range st.Action {
					for _, r := range st.NotResources() {
						got = append(got, "deny "+a+" outside "+resourceKind(r))
					}
				}
			default:
				t.Errorf("%s %s: effect %q; want Allow on Resource, or Deny outside NotResource", id, st.Sid, st.Effect)
			}
		}
		sort.Strings(got)
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			t.Errorf("%s grants\n  %s\nwant\n  %s", id, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	}
}

// TestNoFunctionCanWriteAPIKeys: every DynamoDB write any function may make
// is limited to partition key prefixes, and none of them covers API keys,
// so a compromised function cannot mint or revoke one.
func TestNoFunctionCanWriteAPIKeys(t *testing.T) {
	writes := []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:*"}
	for id, fn := range functions(t, load(t)) {
		for _, st := range statements(t, fn) {
			for _, a := range st.Action {
				if st.Effect == "Deny" || !slices.Contains(writes, a) {
					continue
				}
				keys := st.LeadingKeys()
				if len(keys) == 0 {
					t.Errorf("%s %s: %s is not limited by dynamodb:LeadingKeys", id, st.Sid, a)
				}
				for _, k := range keys {
					if ok, _ := path.Match(k, "APIKEY#0123abcd"); ok || k == "*" {
						t.Errorf("%s %s: %s may write API keys (%s)", id, st.Sid, a, k)
					}
				}
			}
		}
	}
}

// TestAccessLog: the HTTP API writes a JSON access line per request, with
// the request id the API answers with, to a log group with a retention
// period, and never the path or query, where a caller may put a key.
func TestAccessLog(t *testing.T) {
	tmpl := load(t)
	var api struct {
		AccessLogSettings struct {
			DestinationArn string `yaml:"DestinationArn"`
			Format         string `yaml:"Format"`
		} `yaml:"AccessLogSettings"`
	}
	if err := tmpl.Decode("HttpApi", "AWS::Serverless::HttpApi", &api); err != nil {
		t.Fatal(err)
	}
	var line map[string]string
	if err := json.Unmarshal([]byte(api.AccessLogSettings.Format), &line); err != nil {
		t.Fatalf("access log format is not JSON: %v", err)
	}
	for _, v := range []string{"$context.requestId", "$context.identity.sourceIp", "$context.routeKey", "$context.status",
		"$context.responseLatency", "$context.integrationErrorMessage"} {
		if !slices.Contains(slices.Collect(maps.Values(line)), v) {
			t.Errorf("access log line lacks %s", v)
		}
	}
	for _, v := range line {
		if strings.Contains(v, "path") || strings.Contains(v, "querystring") || strings.Contains(v, "userAgent") {
			t.Errorf("access log line has %s, where a caller may put a key", v)
		}
	}
	group, _, _ := strings.Cut(api.AccessLogSettings.DestinationArn, ".")
	var lg struct {
		RetentionInDays string `yaml:"RetentionInDays"`
	}
	if err := tmpl.Decode(group, "AWS::Logs::LogGroup", &lg); err != nil || lg.RetentionInDays == "" {
		t.Errorf("access log group %q: %v, retention %q; want a log group with a retention period", group, err, lg.RetentionInDays)
	}
}

// resourceKind names an IAM resource of the template by what it is.
func resourceKind(r string) string {
	switch {
	case r == "WebhooksTable.Arn":
		return "table"
	case strings.HasPrefix(r, "${WebhooksTable.Arn}/index/"):
		return "table index " + strings.TrimPrefix(r, "${WebhooksTable.Arn}/index/")
	case r == "EventBus.Arn":
		return "event bus"
	case strings.HasSuffix(r, ":secret:webhooks/${AWS::StackName}/*"):
		return "prefix"
	case r == "SecretsKmsKeyArn":
		return "kms key"
	case r == "FanoutQueue.Arn":
		return "fanout queue"
	case r == "FanoutDeadLetterQueue.Arn":
		return "fanout dead-letter queue"
	case r == "DeliveryQueue.Arn":
		return "delivery queue"
	case r == "DeliveryDeadLetterQueue.Arn":
		return "delivery dead-letter queue"
	}
	return r
}

func TestTableIsDurable(t *testing.T) {
	var tbl samtemplate.Table
	if err := load(t).Decode("WebhooksTable", "AWS::DynamoDB::Table", &tbl); err != nil {
		t.Fatal(err)
	}
	if tbl.BillingMode != "PAY_PER_REQUEST" || !tbl.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled ||
		!tbl.SSESpecification.SSEEnabled || !tbl.TimeToLiveSpecification.Enabled || tbl.TimeToLiveSpecification.AttributeName != "expires_at" {
		t.Errorf("table = %+v; want on-demand, PITR, SSE and TTL on expires_at", tbl)
	}
}

// TestTableIndexes checks the table's two sparse indexes: API keys by
// account, whole, and events by day and time without their payloads.
func TestTableIndexes(t *testing.T) {
	var tbl samtemplate.Table
	if err := load(t).Decode("WebhooksTable", "AWS::DynamoDB::Table", &tbl); err != nil {
		t.Fatal(err)
	}
	defined := map[string]string{}
	for _, a := range tbl.AttributeDefinitions {
		defined[a.AttributeName] = a.AttributeType
	}
	want := map[string]string{
		"by-account":     "gsi1pk HASH, gsi1sk RANGE; ALL []",
		"events-by-time": "events_pk HASH, events_sk RANGE; INCLUDE [event_id event_type time expires_at]",
		// What the sweeper rebuilds a delivery's message from.
		dynamo.DueIndex: fmt.Sprintf("resend_shard HASH, resend_at RANGE; INCLUDE %v", dynamo.DueAttributes),
	}
	got := map[string]string{}
	for _, g := range tbl.GlobalSecondaryIndexes {
		var keys []string
		for _, k := range g.KeySchema {
			keys = append(keys, k.AttributeName+" "+k.KeyType)
			if defined[k.AttributeName] != "S" {
				t.Errorf("index %s: key %s is not defined as a string attribute", g.IndexName, k.AttributeName)
			}
		}
		got[g.IndexName] = fmt.Sprintf("%s; %s %v", strings.Join(keys, ", "), g.Projection.ProjectionType, g.Projection.NonKeyAttributes)
	}
	if !maps.Equal(got, want) {
		t.Errorf("indexes = %v; want %v", got, want)
	}
	if len(defined) != 2+2*len(want) {
		t.Errorf("attribute definitions %v: want the table's and the indexes' keys only", defined)
	}
}

func TestLocalEnvFileMatchesTemplate(t *testing.T) {
	b, err := os.ReadFile("../../../events/env.json")
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]map[string]string
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("events/env.json: %v", err)
	}
	for id, fn := range functions(t, load(t)) {
		want, got := slices.Sorted(maps.Keys(fn.Environment.Variables)), slices.Sorted(maps.Keys(env[id]))
		if !slices.Equal(got, want) {
			t.Errorf("events/env.json %s sets %v; the template declares %v", id, got, want)
		}
	}
}

func TestRoutesMatchTheContract(t *testing.T) {
	var fn struct {
		Events map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				Path   string `yaml:"Path"`
				Method string `yaml:"Method"`
			} `yaml:"Properties"`
		} `yaml:"Events"`
	}
	if err := load(t).Decode("ApiFunction", "AWS::Serverless::Function", &fn); err != nil {
		t.Fatal(err)
	}
	var routes []string
	catchAll := false
	for _, e := range fn.Events {
		if e.Properties.Path == "" {
			catchAll = e.Type == "HttpApi"
			continue
		}
		routes = append(routes, strings.ToUpper(e.Properties.Method)+" "+e.Properties.Path)
	}
	b, err := os.ReadFile("../../../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var operations []string
	for path, item := range doc.Paths {
		for method := range item {
			if method != "parameters" {
				operations = append(operations, strings.ToUpper(method)+" "+path)
			}
		}
	}
	sort.Strings(routes)
	sort.Strings(operations)
	if !slices.Equal(routes, operations) {
		t.Errorf("template routes %v\ncontract operations %v", routes, operations)
	}
	if !catchAll {
		t.Error("no $default route: unknown paths would get API Gateway's own 404 instead of the API's JSON")
	}
}

func TestObservability(t *testing.T) {
	tmpl := load(t)
	var globals struct {
		Tracing       string `yaml:"Tracing"`
		LoggingConfig struct {
			LogFormat string `yaml:"LogFormat"`
		} `yaml:"LoggingConfig"`
	}
	node := tmpl.Globals["Function"]
	if err := node.Decode(&globals); err != nil {
		t.Fatal(err)
	}
	if globals.Tracing != "Active" || globals.LoggingConfig.LogFormat != "JSON" {
		t.Errorf("functions: tracing %q, log format %q; want Active and JSON", globals.Tracing, globals.LoggingConfig.LogFormat)
	}
	watched := map[string]bool{}
	for id, r := range tmpl.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" {
			continue
		}
		var alarm struct {
			MetricName        string    `yaml:"MetricName"`
			ExtendedStatistic string    `yaml:"ExtendedStatistic"`
			AlarmActions      yaml.Node `yaml:"AlarmActions"`
			Metrics           []struct {
				MetricStat struct {
					Metric struct {
						MetricName string `yaml:"MetricName"`
					} `yaml:"Metric"`
				} `yaml:"MetricStat"`
			} `yaml:"Metrics"`
		}
		if err := tmpl.Decode(id, r.Type, &alarm); err != nil {
			t.Fatal(err)
		}
		b, _ := yaml.Marshal(&alarm.AlarmActions)
		if !strings.Contains(string(b), "AlarmTopicArn") {
			t.Errorf("%s does not notify AlarmTopicArn", id)
		}
		watched[alarm.MetricName+alarm.ExtendedStatistic] = true
		for _, m := range alarm.Metrics {
			watched[m.MetricStat.Metric.MetricName] = true
		}
	}
	for _, want := range []string{"5xx", "Errors", "Throttles", "Latencyp99"} {
		if !watched[want] {
			t.Errorf("no alarm on %s; alarms watch %v", want, watched)
		}
	}
}

// The delivery pipeline's resources, by the logical ids other code uses.
const (
	fanoutQueue     = "FanoutQueue"
	fanoutDLQ       = "FanoutDeadLetterQueue"
	deliveryQueue   = "DeliveryQueue"
	deliveryDLQ     = "DeliveryDeadLetterQueue"
	rule            = "DocumentEventsRule"
	fanoutFunction  = "FanoutFunction"
	deliverFunction = "DeliveryFunction"
)

// queues returns every AWS::SQS::Queue in the template, by logical id.
func queues(t *testing.T, tmpl *samtemplate.Template) map[string]samtemplate.Queue {
	t.Helper()
	qs := map[string]samtemplate.Queue{}
	for _, id := range tmpl.IDs("AWS::SQS::Queue") {
		var q samtemplate.Queue
		if err := tmpl.Decode(id, "AWS::SQS::Queue", &q); err != nil {
			t.Fatal(err)
		}
		qs[id] = q
	}
	return qs
}

// alarms returns every AWS::CloudWatch::Alarm in the template, by logical id.
func alarms(t *testing.T, tmpl *samtemplate.Template) map[string]samtemplate.Alarm {
	t.Helper()
	as := map[string]samtemplate.Alarm{}
	for _, id := range tmpl.IDs("AWS::CloudWatch::Alarm") {
		var a samtemplate.Alarm
		if err := tmpl.Decode(id, "AWS::CloudWatch::Alarm", &a); err != nil {
			t.Fatal(err)
		}
		as[id] = a
	}
	return as
}

// timeout is a function's timeout, from Globals when it sets none.
func timeout(t *testing.T, tmpl *samtemplate.Template, fn samtemplate.Function) time.Duration {
	t.Helper()
	if fn.Timeout != 0 {
		return time.Duration(fn.Timeout) * time.Second
	}
	var globals struct {
		Timeout int `yaml:"Timeout"`
	}
	node := tmpl.Globals["Function"]
	if err := node.Decode(&globals); err != nil {
		t.Fatal(err)
	}
	return time.Duration(globals.Timeout) * time.Second
}

// arnOf is how the template refers to a resource's ARN (!GetAtt id.Arn).
func arnOf(id string) string { return id + ".Arn" }

// TestSQSTriggers: the fan-out and delivery functions each consume their
// queue in batches of 10, report failed messages one by one (so one bad
// message does not retry the batch), and are capped by a concurrency
// parameter that Lambda accepts (at least 2).
func TestSQSTriggers(t *testing.T) {
	tmpl := load(t)
	consumers := map[string]string{}
	for id, fn := range functions(t, tmpl) {
		for name, ev := range fn.Events {
			if ev.Type != "SQS" {
				continue
			}
			p := ev.Properties
			queue, _ := strings.CutSuffix(p.Queue, ".Arn")
			consumers[queue] = id
			if p.BatchSize != 10 || !slices.Equal(p.FunctionResponseTypes, []string{"ReportBatchItemFailures"}) {
				t.Errorf("%s %s: batch size %d, response types %v; want 10 and [ReportBatchItemFailures]", id, name, p.BatchSize, p.FunctionResponseTypes)
			}
			param, ok := tmpl.Parameters[p.ScalingConfig.MaximumConcurrency]
			if !ok || param.Type != "Number" || param.MinValue == nil || *param.MinValue < 2 || param.MaxValue == nil || *param.MaxValue > 1000 {
				t.Errorf("%s %s: MaximumConcurrency %q; want a Number parameter from at least 2 to at most 1000", id, name, p.ScalingConfig.MaximumConcurrency)
			}
		}
	}
	want := map[string]string{fanoutQueue: fanoutFunction, deliveryQueue: deliverFunction}
	if !maps.Equal(consumers, want) {
		t.Errorf("SQS triggers (queue: function) %v; want %v", consumers, want)
	}
}

// TestQueueSettingsFitTheRetries: every queue keeps messages 14 days,
// encrypted; a consumed queue hides a received message for at least 6
// times its function's timeout (Lambda's advice: a batch may be retried
// within one function run); each main queue has a dead-letter queue, and
// the delivery queue's rides out hours of a dependency's outage.
func TestQueueSettingsFitTheRetries(t *testing.T) {
	tmpl := load(t)
	qs := queues(t, tmpl)
	if got := slices.Sorted(maps.Keys(qs)); !slices.Equal(got, []string{deliveryDLQ, deliveryQueue, fanoutDLQ, fanoutQueue}) {
		t.Fatalf("queues %v", got)
	}
	for id, q := range qs {
		if q.MessageRetentionPeriod != int((14*24*time.Hour).Seconds()) || !q.SqsManagedSseEnabled {
			t.Errorf("%s: retention %d s, SSE %v; want 14 days (1209600) and SSE", id, q.MessageRetentionPeriod, q.SqsManagedSseEnabled)
		}
	}
	fns := functions(t, tmpl)
	for queue, fn := range map[string]string{fanoutQueue: fanoutFunction, deliveryQueue: deliverFunction} {
		vis, min := time.Duration(qs[queue].VisibilityTimeout)*time.Second, 6*timeout(t, tmpl, fns[fn])
		if vis < min {
			t.Errorf("%s: visibility %v; want at least 6 x %s's timeout, %v", queue, vis, fn, min)
		}
	}
	for queue, dlq := range map[string]string{fanoutQueue: fanoutDLQ, deliveryQueue: deliveryDLQ} {
		if got := qs[queue].RedrivePolicy.DeadLetterTargetArn; got != arnOf(dlq) {
			t.Errorf("%s: dead-letter queue %q; want %s", queue, got, arnOf(dlq))
		}
		if qs[dlq].RedrivePolicy.DeadLetterTargetArn != "" {
			t.Errorf("%s: a dead-letter queue with a dead-letter queue", dlq)
		}
	}
	// Each attempt is a message of its own (the next one is parked), so a
	// message is received again only after a step that failed before
	// deciding anything; it backs off from 30 s to 15 minutes, so 40
	// receives ride out about 9 hours of a dependency's outage.
	if got := qs[deliveryQueue].RedrivePolicy.MaxReceiveCount; got < 40 {
		t.Errorf("%s: maxReceiveCount %d; want at least 40, hours of outage", deliveryQueue, got)
	}
	if got := qs[fanoutQueue].RedrivePolicy.MaxReceiveCount; got < 2 {
		t.Errorf("%s: maxReceiveCount %d; want a few tries", fanoutQueue, got)
	}
}

// TestDeliveryFunctionFitsItsLimits: the longest DELIVERY_TIMEOUT config
// accepts leaves the delivery function 10 s to record a batch's attempts,
// a parked attempt's delay fits SQS's 15 minutes, and the sweeper queues
// a long wait's message before it is due, on a schedule of a minute.
func TestDeliveryFunctionFitsItsLimits(t *testing.T) {
	tmpl := load(t)
	fn := functions(t, tmpl)[deliverFunction]
	if room := timeout(t, tmpl, fn) - config.MaxDeliveryTimeout; room < 10*time.Second {
		t.Errorf("%s: timeout %v leaves %v after an attempt of %v; want at least 10s",
			deliverFunction, timeout(t, tmpl, fn), room, config.MaxDeliveryTimeout)
	}
	if delivery.MaxDelay > 15*time.Minute {
		t.Errorf("delivery.MaxDelay %v is longer than SQS's DelaySeconds allow (15m)", delivery.MaxDelay)
	}
	var sweeper struct {
		Events map[string]struct {
			Properties struct {
				ScheduleExpression string `yaml:"ScheduleExpression"`
			} `yaml:"Properties"`
		} `yaml:"Events"`
	}
	if err := tmpl.Decode("SweeperFunction", "AWS::Serverless::Function", &sweeper); err != nil {
		t.Fatal(err)
	}
	if got := sweeper.Events["Schedule"].Properties.ScheduleExpression; got != "rate(1 minute)" ||
		delivery.SweepLead <= time.Minute {
		t.Errorf("sweeper schedule %q with a lead of %v; want rate(1 minute) and a lead longer than it", got, delivery.SweepLead)
	}
}

// TestDeliveryParametersMatchConfig: the template's defaults are the
// code's, and a parameter's bounds are no looser than what config accepts.
func TestDeliveryParametersMatchConfig(t *testing.T) {
	params := load(t).Parameters
	for name, p := range map[string]string{"DeliveryRetrySchedule": "DELIVERY_RETRY_SCHEDULE", "DeliveryTimeout": "DELIVERY_TIMEOUT",
		"DisableAfter": "DISABLE_AFTER", "RecordRetentionDays": "RECORD_RETENTION_DAYS"} {
		if _, ok := params[name]; !ok {
			t.Errorf("no parameter %s (for %s)", name, p)
		}
	}
	sched, err := delivery.ParseSchedule(params["DeliveryRetrySchedule"].Default)
	if err != nil || !slices.Equal(sched, delivery.DefaultSchedule) {
		t.Errorf("DeliveryRetrySchedule default %q = %v, %v; want delivery.DefaultSchedule %v",
			params["DeliveryRetrySchedule"].Default, sched, err, delivery.DefaultSchedule)
	}
	pattern := regexp.MustCompile(params["DeliveryRetrySchedule"].AllowedPattern)
	for v, ok := range map[string]bool{"5s,5m,30m,2h,5h,10h": true, "0": true, "1h30m,90s,1.5h,500ms": true,
		"": false, "5s,": false, ",5s": false, "5s, 5m": false, "5": false, "5d": false, "-5s": false, "soon": false} {
		if pattern.MatchString(v) != ok {
			t.Errorf("DeliveryRetrySchedule's AllowedPattern on %q: %v, want %v", v, !ok, ok)
		}
		if ok {
			if _, err := delivery.ParseSchedule(v); err != nil {
				t.Errorf("the pattern allows %q, which the code refuses: %v", v, err)
			}
		}
	}
	for name, want := range map[string]time.Duration{"DeliveryTimeout": config.DefaultDeliveryTimeout, "DisableAfter": delivery.DefaultDisableAfter} {
		if d, err := time.ParseDuration(params[name].Default); err != nil || d != want {
			t.Errorf("%s default %q; want %v", name, params[name].Default, want)
		}
	}
	r := params["RecordRetentionDays"]
	if r.Default != strconv.Itoa(config.DefaultRetentionDays) || r.MinValue == nil || *r.MinValue != 1 ||
		r.MaxValue == nil || *r.MaxValue != config.MaxRetentionDays {
		t.Errorf("RecordRetentionDays %+v; want default %d, from 1 to %d", r, config.DefaultRetentionDays, config.MaxRetentionDays)
	}
}

// TestLocalOnlyVariablesAreNeverSet: the variables that loosen delivery's
// checks on a laptop have no place in AWS.
func TestLocalOnlyVariablesAreNeverSet(t *testing.T) {
	for id, fn := range functions(t, load(t)) {
		for _, v := range config.LocalOnly {
			if _, ok := fn.Environment.Variables[v]; ok {
				t.Errorf("%s sets the local-only %s", id, v)
			}
		}
	}
}

// TestDeliveryFunctionOnlyReadsSecrets: the delivery function may read the
// signing secrets under the stack's prefix, nothing else of Secrets
// Manager, and the fan-out function nothing at all.
func TestDeliveryFunctionOnlyReadsSecrets(t *testing.T) {
	fns := functions(t, load(t))
	for id, want := range map[string][]string{deliverFunction: {"secretsmanager:GetSecretValue"}, fanoutFunction: nil} {
		var got []string
		for _, st := range statements(t, fns[id]) {
			for _, a := range st.Action {
				if !strings.HasPrefix(a, "secretsmanager:") {
					continue
				}
				got = append(got, a)
				for _, r := range st.Resources() {
					if resourceKind(r) != "prefix" {
						t.Errorf("%s %s: %s on %s; want only the stack's prefix", id, st.Sid, a, r)
					}
				}
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: Secrets Manager actions %v; want %v", id, got, want)
		}
	}
}

// TestOnlyTheRuleSendsToTheFanoutQueues: the rule's target and its
// dead-letter queue each have a resource policy, and every queue policy
// lets EventBridge send only on behalf of the rule.
func TestOnlyTheRuleSendsToTheFanoutQueues(t *testing.T) {
	tmpl := load(t)
	covered := map[string]bool{}
	for _, id := range tmpl.IDs("AWS::SQS::QueuePolicy") {
		var p samtemplate.QueuePolicy
		if err := tmpl.Decode(id, "AWS::SQS::QueuePolicy", &p); err != nil {
			t.Fatal(err)
		}
		for _, q := range p.Queues {
			covered[q] = true
		}
		if len(p.PolicyDocument.Statement) == 0 {
			t.Errorf("%s: no statement", id)
		}
		for _, st := range p.PolicyDocument.Statement {
			principal, _ := st.Principal.(map[string]any)
			source := st.Condition["ArnEquals"]["aws:SourceArn"]
			if st.Effect != "Allow" || !slices.Equal(st.Action, samtemplate.Strings{"sqs:SendMessage"}) || len(principal) != 1 ||
				principal["Service"] != "events.amazonaws.com" || len(st.Condition) != 1 || len(st.Condition["ArnEquals"]) != 1 ||
				source != arnOf(rule) {
				t.Errorf("%s %s: %+v; want only sqs:SendMessage, by events.amazonaws.com, with aws:SourceArn the rule's ARN", id, st.Sid, st)
			}
			for _, r := range st.Resources() {
				if q, _ := strings.CutSuffix(r, ".Arn"); !slices.Contains(p.Queues, q) {
					t.Errorf("%s %s: resource %s is not one of the policy's queues %v", id, st.Sid, r, p.Queues)
				}
			}
		}
	}
	for _, q := range []string{fanoutQueue, fanoutDLQ} {
		if !covered[q] {
			t.Errorf("no queue policy lets the rule send to %s", q)
		}
	}
}

// TestDocumentEventsRule: the rule matches the platform's source and
// nothing narrower (events of unknown types must reach the fan-out, which
// sets them aside), on the stack's bus, and hands the whole event to the
// fan-out queue, with a dead-letter queue for events it cannot.
func TestDocumentEventsRule(t *testing.T) {
	tmpl := load(t)
	var r samtemplate.Rule
	if err := tmpl.Decode(rule, "AWS::Events::Rule", &r); err != nil {
		t.Fatal(err)
	}
	var bus struct {
		Name string `yaml:"Name"`
	}
	if err := tmpl.Decode("EventBus", "AWS::Events::EventBus", &bus); err != nil {
		t.Fatal(err)
	}
	if r.EventBusName != "EventBus" || r.State != "ENABLED" {
		t.Errorf("rule on bus %q, state %q; want EventBus, ENABLED", r.EventBusName, r.State)
	}
	if tmpl.Outputs["EventBusName"].Value != "EventBus" {
		t.Errorf("output EventBusName = %q; want the bus's name", tmpl.Outputs["EventBusName"].Value)
	}
	pattern, _ := yaml.Marshal(r.EventPattern)
	if want := "source:\n    - " + delivery.Source + "\n"; string(pattern) != want {
		t.Errorf("event pattern\n%s\nwant\n%s", pattern, want)
	}
	if len(r.Targets) != 1 {
		t.Fatalf("rule has %d targets; want 1, the fan-out queue", len(r.Targets))
	}
	tg := r.Targets[0]
	if tg.Id != "fanout" || tg.Arn != arnOf(fanoutQueue) || tg.DeadLetterConfig.Arn != arnOf(fanoutDLQ) {
		t.Errorf("target %+v; want fanout to %s with dead-letter queue %s", tg, fanoutQueue, fanoutDLQ)
	}
	if tg.Input != "" || tg.InputPath != "" || !tg.InputTransformer.IsZero() {
		t.Error("the target changes the event; the fan-out reads the whole EventBridge event")
	}
	if tg.RetryPolicy.MaximumEventAgeInSeconds < 3600 {
		t.Errorf("target retry policy %+v; want events retried for at least an hour", tg.RetryPolicy)
	}
}

// TestDeliveryAlarms: any message in a dead-letter queue, the age of each
// queue's oldest message, in-flight deliveries near SQS's limit, the
// delivery failure rate and each new function's errors all alarm.
func TestDeliveryAlarms(t *testing.T) {
	tmpl := load(t)
	as := alarms(t, tmpl)
	find := func(namespace, metric, dimension string) (samtemplate.Alarm, bool) {
		for _, a := range as {
			if a.Namespace == namespace && a.MetricName == metric && len(a.Dimensions) == 1 && a.Dimensions[0].Value == dimension {
				return a, true
			}
		}
		return samtemplate.Alarm{}, false
	}
	threshold := func(a samtemplate.Alarm) float64 {
		f, err := strconv.ParseFloat(a.Threshold, 64)
		if err != nil {
			t.Errorf("alarm on %s: threshold %q is not a number", a.MetricName, a.Threshold)
		}
		return f
	}
	for _, dlq := range []string{fanoutDLQ, deliveryDLQ} {
		a, ok := find("AWS/SQS", "ApproximateNumberOfMessagesVisible", dlq+".QueueName")
		if !ok || threshold(a) != 1 || a.ComparisonOperator != "GreaterThanOrEqualToThreshold" {
			t.Errorf("%s: no alarm on one message or more (%+v)", dlq, a)
		}
	}
	if a, ok := find("AWS/SQS", "ApproximateAgeOfOldestMessage", fanoutQueue+".QueueName"); !ok || threshold(a) > 900 {
		t.Errorf("%s: no alarm on the oldest message's age, within 15 minutes (%+v)", fanoutQueue, a)
	}
	// No retry waits on the queue longer than a delayed message's
	// delivery.MaxDelay: past it, and a few receives (the function's
	// visibility), a message's age means the queue is not consumed.
	longest := delivery.MaxDelay + 2*time.Duration(queues(t, tmpl)[deliveryQueue].VisibilityTimeout)*time.Second
	a, ok := find("AWS/SQS", "ApproximateAgeOfOldestMessage", deliveryQueue+".QueueName")
	if age := time.Duration(threshold(a)) * time.Second; !ok || age < longest || age > 2*time.Hour {
		t.Errorf("%s: oldest-message alarm at %v; want above the longest legitimate wait, %v, and within 2 hours", deliveryQueue, age, longest)
	}
	if a, ok := find("AWS/SQS", "ApproximateNumberOfMessagesNotVisible", deliveryQueue+".QueueName"); !ok || threshold(a) >= 120000 || threshold(a) < 60000 {
		t.Errorf("%s: no alarm on in-flight messages nearing SQS's 120,000 (%+v)", deliveryQueue, a)
	}
	for _, fn := range []string{fanoutFunction, deliverFunction} {
		if a, ok := find("AWS/Lambda", "Errors", fn); !ok || threshold(a) != 1 {
			t.Errorf("%s: no alarm on its errors", fn)
		}
	}
	namespace := functions(t, tmpl)[deliverFunction].Environment.Variables[config.EnvNamespace]
	found := false
	for id, a := range as {
		read := map[string]string{}
		for _, m := range a.Metrics {
			if mm := m.MetricStat.Metric; strings.HasPrefix(mm.MetricName, "Delivery") {
				read[mm.MetricName] = m.Id
				if mm.Namespace != namespace || len(mm.Dimensions) != 0 {
					t.Errorf("%s: reads %s in %q with dimensions %v; the delivery function logs it in %q without dimensions",
						id, mm.MetricName, mm.Namespace, mm.Dimensions, namespace)
				}
			}
		}
		attempts, failures := read["DeliveryAttempts"], read["DeliveryFailures"]
		if attempts == "" || failures == "" {
			continue
		}
		found = true
		for _, m := range a.Metrics {
			if m.Expression != "" && (!strings.Contains(m.Expression, attempts) || !strings.Contains(m.Expression, failures)) {
				t.Errorf("%s: expression %q does not divide %s by %s", id, m.Expression, failures, attempts)
			}
		}
	}
	if !found {
		t.Error("no alarm on the delivery failure rate (DeliveryFailures over DeliveryAttempts)")
	}
}

// TestDeadLetterAlarmsSayTheReceiveLimit: the alarm on each dead-letter
// queue says after how many receives a message lands there (its source
// queue's maxReceiveCount), and names no other count of receives.
func TestDeadLetterAlarmsSayTheReceiveLimit(t *testing.T) {
	tmpl := load(t)
	limit := map[string]int{} // dead-letter queue -> maxReceiveCount of the queue it serves
	for _, q := range queues(t, tmpl) {
		if dlq, ok := strings.CutSuffix(q.RedrivePolicy.DeadLetterTargetArn, ".Arn"); ok {
			limit[dlq] = q.RedrivePolicy.MaxReceiveCount
		}
	}
	counts := regexp.MustCompile(`(\d+) (times|receives|fan-outs)`)
	checked := 0
	for id, a := range alarms(t, tmpl) {
		if a.MetricName != "ApproximateNumberOfMessagesVisible" || len(a.Dimensions) != 1 {
			continue
		}
		dlq, _ := strings.CutSuffix(a.Dimensions[0].Value, ".QueueName")
		n, ok := limit[dlq]
		if !ok {
			continue
		}
		checked++
		said := counts.FindAllStringSubmatch(a.AlarmDescription, -1)
		if len(said) == 0 {
			t.Errorf("%s: %q does not say after how many receives (%d) a message lands in %s", id, a.AlarmDescription, n, dlq)
		}
		for _, m := range said {
			if m[1] != strconv.Itoa(n) {
				t.Errorf("%s says %q; %s takes a message after %d receives", id, m[0], dlq, n)
			}
		}
	}
	if checked != len(limit) {
		t.Errorf("%d dead-letter queue alarms checked; want one for each of %v", checked, limit)
	}
}

// TestEveryFunctionHasABuildTarget: `sam build` runs make build-<id> for
// each function (BuildMethod: makefile).
func TestEveryFunctionHasABuildTarget(t *testing.T) {
	b, err := os.ReadFile("../../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for id := range functions(t, load(t)) {
		if !regexp.MustCompile(`(?m)^build-` + id + `:`).Match(b) {
			t.Errorf("the Makefile has no build-%s target", id)
		}
	}
}

// TestNotices: the delivery function publishes its notices to the stack's
// bus, and nothing in the template subscribes to them: the platform adds
// its own rule on their source.
func TestNotices(t *testing.T) {
	tmpl := load(t)
	if got := functions(t, tmpl)[deliverFunction].Environment.Variables[config.EnvEventBusName]; got != "EventBus" {
		t.Errorf("%s: %s = %q; want !Ref EventBus", deliverFunction, config.EnvEventBusName, got)
	}
	for _, id := range tmpl.IDs("AWS::Events::Rule") {
		var r samtemplate.Rule
		if err := tmpl.Decode(id, "AWS::Events::Rule", &r); err != nil {
			t.Fatal(err)
		}
		if pattern, _ := yaml.Marshal(r.EventPattern); strings.Contains(string(pattern), delivery.NoticeSource) {
			t.Errorf("rule %s subscribes to the notices (%s); the template must leave that to the platform", id, pattern)
		}
	}
}

// TestManualSendsUseTheDeliveryQueue: the API queues retries, recoveries
// and tests on the queue the fan-out fills and the delivery function
// reads, and keeps what it records as long as they do.
func TestManualSendsUseTheDeliveryQueue(t *testing.T) {
	fns := functions(t, load(t))
	api := fns["ApiFunction"].Environment.Variables
	for _, id := range []string{fanoutFunction, deliverFunction} {
		other := fns[id].Environment.Variables
		if api[config.EnvDeliveryQueueURL] != deliveryQueue || other[config.EnvDeliveryQueueURL] != deliveryQueue {
			t.Errorf("%s: ApiFunction sends to %q, %s uses %q; want both %s", config.EnvDeliveryQueueURL,
				api[config.EnvDeliveryQueueURL], id, other[config.EnvDeliveryQueueURL], deliveryQueue)
		}
		if api[config.EnvRetentionDays] != other[config.EnvRetentionDays] {
			t.Errorf("%s: ApiFunction %q, %s %q; want the same", config.EnvRetentionDays, api[config.EnvRetentionDays], id,
				other[config.EnvRetentionDays])
		}
	}
}
