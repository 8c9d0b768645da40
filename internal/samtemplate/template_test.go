package samtemplate_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

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
	fn := functions(t, load(t))["ApiFunction"]
	var got []string
	for k := range fn.Environment.Variables {
		got = append(got, k)
	}
	want := slices.Concat(config.Required, config.Optional, config.SDKVariables)
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("template sets %v; the code reads %v", got, want)
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
	fn := functions(t, load(t))["ApiFunction"]
	sts := statements(t, fn)
	if len(sts) != 3 { // table, secrets, and the optional KMS key
		t.Fatalf("found %d policy statements, want 3", len(sts))
	}
	services := map[string]bool{}
	for _, st := range sts {
		resources := fmt.Sprint(st.Resource)
		for _, a := range st.Action {
			svc, action, _ := strings.Cut(a, ":")
			services[svc] = true
			if strings.Contains(action, "*") {
				t.Errorf("%s: wildcard action %s", st.Sid, a)
			}
			switch svc {
			case "dynamodb":
				if resources != "WebhooksTable.Arn" {
					t.Errorf("%s: %s on %s, want the table alone", st.Sid, a, resources)
				}
			case "secretsmanager":
				if !strings.HasSuffix(resources, ":secret:webhooks/${AWS::StackName}/*") {
					t.Errorf("%s: %s on %s, want the secret name prefix only", st.Sid, a, resources)
				}
			}
		}
		if resources == "*" || resources == "[*]" {
			t.Errorf("%s: Resource is *", st.Sid)
		}
	}
	if !services["dynamodb"] || !services["secretsmanager"] {
		t.Errorf("policies grant %v; want dynamodb and secretsmanager", services)
	}
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
