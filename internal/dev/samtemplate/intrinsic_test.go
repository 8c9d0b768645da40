package samtemplate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/docproc/webhooks/internal/dev/samtemplate"
)

// intrinsics is a template whose Props resource holds one property per
// case below.
const intrinsics = `
Parameters:
  Size: {Type: Number, Default: "7"}
  Bare: {Type: String}
Resources:
  Queue: {Type: AWS::SQS::Queue}
  Props:
    Type: Test::Props
    Properties:
      Plain: 5
      Yes: true
      ShortRef: !Ref Size
      LongRef: {Ref: Size}
      RefOfResource: !Ref Queue
      RefOfNothing: !Ref Nothing
      RefNoDefault: !Ref Bare
      Sub: !Sub "${Size}0"
      If: {"Fn::If": [IsProd, 1, 2]}
      List: [1, 2]
      GetAttShort: !GetAtt Queue.Arn
      GetAttList: !GetAtt [Queue, Arn]
      GetAttLong: {"Fn::GetAtt": [Queue, Arn]}
      GetAttLongDotted: {"Fn::GetAtt": Queue.Arn}
      GetAttOfNothing: !GetAtt Nothing.Arn
      ImportValue: !ImportValue shared-queue-arn
      Pattern: {source: [docproc.documents], detail: {account: [acct_1]}}
      PatternWithSub: {source: [docproc.documents], detail: {account: [!Sub "${AWS::AccountId}"]}}
`

// props loads intrinsics and returns the template and its Props.
func props(t *testing.T) (*samtemplate.Template, map[string]yaml.Node) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(path, []byte(intrinsics), 0o600); err != nil {
		t.Fatal(err)
	}
	tmpl, err := samtemplate.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	p := map[string]yaml.Node{}
	if err := tmpl.Decode("Props", "Test::Props", &p); err != nil {
		t.Fatal(err)
	}
	return tmpl, p
}

// TestValueResolvesParametersAndNamesWhatItCannot: plain values and Refs
// to parameters read locally; every other intrinsic is refused with an
// error that names it, never read as its argument.
func TestValueResolvesParametersAndNamesWhatItCannot(t *testing.T) {
	tmpl, p := props(t)
	for name, want := range map[string]string{"Plain": "5", "ShortRef": "7", "LongRef": "7"} {
		if got, err := tmpl.Value(p[name]); err != nil || got != want {
			t.Errorf("Value(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	if n, err := tmpl.Int(p["ShortRef"]); err != nil || n != 7 {
		t.Errorf("Int(ShortRef) = %d, %v; want 7", n, err)
	}
	if b, err := tmpl.Bool(p["Yes"]); err != nil || !b {
		t.Errorf("Bool(Yes) = %v, %v; want true", b, err)
	}
	for name, says := range map[string]string{
		"RefOfResource": "Ref Queue names a resource, whose value exists only once deployed",
		"RefOfNothing":  "Ref Nothing names no parameter or resource",
		"RefNoDefault":  "Ref Bare: the parameter has no default",
		"Sub":           "Fn::Sub cannot be resolved without deploying the template",
		"If":            "Fn::If cannot be resolved without deploying the template",
		"List":          "a list or a mapping where a single value is needed",
	} {
		if got, err := tmpl.Value(p[name]); err == nil || !strings.Contains(err.Error(), says) || !strings.HasPrefix(err.Error(), "line ") {
			t.Errorf("Value(%s) = %q, %v; want an error with its line saying %q", name, got, err, says)
		}
	}
	if _, err := tmpl.Int(p["Yes"]); err == nil || !strings.Contains(err.Error(), "not a whole number") {
		t.Errorf("Int(Yes) = %v; want not a whole number", err)
	}
}

// TestResourceRefReadsEveryForm: Ref and every form of Fn::GetAtt name the
// resource; what names none, and other intrinsics, are refused by name.
func TestResourceRefReadsEveryForm(t *testing.T) {
	tmpl, p := props(t)
	for _, name := range []string{"RefOfResource", "GetAttShort", "GetAttList", "GetAttLong", "GetAttLongDotted"} {
		if id, err := tmpl.ResourceRef(p[name]); err != nil || id != "Queue" {
			t.Errorf("ResourceRef(%s) = %q, %v; want Queue", name, id, err)
		}
	}
	for name, says := range map[string]string{
		"GetAttOfNothing": "Fn::GetAtt Nothing names no resource of the template",
		"RefOfNothing":    "Ref Nothing names no resource of the template",
		"ImportValue":     "Fn::ImportValue cannot be resolved without deploying the template",
		"Plain":           "a literal where a Ref or Fn::GetAtt of a resource of the template is needed",
	} {
		if id, err := tmpl.ResourceRef(p[name]); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("ResourceRef(%s) = %q, %v; want an error saying %q", name, id, err, says)
		}
	}
}

// TestLiteralFindsANestedIntrinsic: a pattern holding an intrinsic deep
// inside is refused with the intrinsic's name and line.
func TestLiteralFindsANestedIntrinsic(t *testing.T) {
	_, p := props(t)
	if err := samtemplate.Literal(p["Pattern"]); err != nil {
		t.Errorf("Literal(Pattern) = %v; want nil", err)
	}
	err := samtemplate.Literal(p["PatternWithSub"])
	if err == nil || !strings.Contains(err.Error(), "Fn::Sub cannot be resolved") || !strings.Contains(err.Error(), "line 27:") {
		t.Errorf("Literal(PatternWithSub) = %v; want Fn::Sub named, on line 27", err)
	}
}
