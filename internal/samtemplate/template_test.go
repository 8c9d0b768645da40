package samtemplate_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/docproc/webhooks/internal/api"
	"github.com/docproc/webhooks/internal/config"
	"github.com/docproc/webhooks/internal/samtemplate"
)

const templatePath = "../../template.yaml"

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
		"ApiFunction":     slices.Concat(config.Required, config.Optional, config.SDKVariables),
		"JanitorFunction": slices.Concat(config.JanitorRequired, config.JanitorOptional, config.SDKVariables),
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
			"dynamodb:DeleteItem on table keys ACCOUNT#* CHECK#*", "dynamodb:GetItem on table",
			"dynamodb:PutItem on table keys ACCOUNT#* CHECK#*", "dynamodb:Query on table",
			"dynamodb:UpdateItem on table keys ACCOUNT#* CHECK#*",
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
	}
	fns := functions(t, load(t))
	for id, want := range want {
		var got []string
		for _, st := range statements(t, fns[id]) {
			if st.Effect != "Allow" {
				t.Errorf("%s %s: effect %q", id, st.Sid, st.Effect)
			}
			keys := ""
			if lk := st.LeadingKeys(); lk != nil {
				sort.Strings(lk)
				keys = " keys " + strings.Join(lk, " ")
			}
			for _, a := range st.Action {
				got = append(got, a+" on "+resourceKind(fmt.Sprint(st.Resource))+keys)
			}
		}
		sort.Strings(got)
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
				if !slices.Contains(writes, a) {
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
	case strings.HasSuffix(r, ":secret:webhooks/${AWS::StackName}/*"):
		return "prefix"
	case r == "SecretsKmsKeyArn":
		return "kms key"
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

func TestLocalEnvFileMatchesTemplate(t *testing.T) {
	b, err := os.ReadFile("../../events/env.json")
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
	b, err := os.ReadFile("../../api/openapi.yaml")
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
