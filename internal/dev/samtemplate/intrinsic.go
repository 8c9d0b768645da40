package samtemplate

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// What the local tools can read of a property without deploying the
// template: a plain value, a Ref to a parameter (its default), and, where
// a property names another resource, a Ref or Fn::GetAtt of that
// resource's logical id. Every other intrinsic function (Fn::Sub, Fn::If,
// Fn::FindInMap, Fn::ImportValue, ...) has a value only once deployed:
// Value, Int, Bool, ResourceRef and Literal refuse it with an error that
// names it and its line, so that a change to template.yaml that local
// tooling cannot follow stops it with a clear message instead of reading
// the function's argument as the value.

// intrinsic returns the name of the intrinsic function n is, in its long
// form ("Ref", "Fn::GetAtt", "Fn::Sub", "Condition"), and its argument: a
// short-form tag (!Ref X, !GetAtt X.Arn) or a one-key mapping whose key is
// Ref, Condition or starts with Fn::.
func intrinsic(n *yaml.Node) (name string, arg *yaml.Node, ok bool) {
	if tag, isShort := strings.CutPrefix(n.Tag, "!"); isShort && !strings.HasPrefix(tag, "!") {
		if tag != "Ref" && tag != "Condition" {
			tag = "Fn::" + tag
		}
		plain := *n
		plain.Tag = ""
		return tag, &plain, true
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		key := n.Content[0].Value
		if key == "Ref" || key == "Condition" || strings.HasPrefix(key, "Fn::") {
			return key, n.Content[1], true
		}
	}
	return "", nil, false
}

// Value reads n, a property that must be a plain scalar or a Ref to a
// parameter, which reads as the parameter's default.
func (t *Template) Value(n yaml.Node) (string, error) {
	name, arg, ok := intrinsic(&n)
	switch {
	case !ok && n.Kind == yaml.ScalarNode:
		return n.Value, nil
	case !ok:
		return "", fmt.Errorf("line %d: a list or a mapping where a single value is needed", n.Line)
	case name != "Ref" || arg.Kind != yaml.ScalarNode:
		return "", unresolved(n, name, "a value or a Ref to a parameter")
	}
	p, isParam := t.Parameters[arg.Value]
	switch {
	case !isParam && t.Resources[arg.Value].Type != "":
		return "", fmt.Errorf("line %d: Ref %s names a resource, whose value exists only once deployed", n.Line, arg.Value)
	case !isParam:
		return "", fmt.Errorf("line %d: Ref %s names no parameter or resource of the template", n.Line, arg.Value)
	case p.Default == "":
		return "", fmt.Errorf("line %d: Ref %s: the parameter has no default", n.Line, arg.Value)
	}
	return p.Default, nil
}

// Int is Value for a whole number.
func (t *Template) Int(n yaml.Node) (int, error) {
	v, err := t.Value(n)
	if err != nil {
		return 0, err
	}
	i, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("line %d: %q is not a whole number", n.Line, v)
	}
	return i, nil
}

// Bool is Value for true or false.
func (t *Template) Bool(n yaml.Node) (bool, error) {
	v, err := t.Value(n)
	if err != nil {
		return false, err
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("line %d: %q is not true or false", n.Line, v)
	}
	return b, nil
}

// ResourceRef returns the logical id of the resource of the template that
// n, a Ref or a Fn::GetAtt of it, refers to.
func (t *Template) ResourceRef(n yaml.Node) (string, error) {
	name, arg, ok := intrinsic(&n)
	id := ""
	switch {
	case !ok:
		return "", fmt.Errorf("line %d: a literal where a Ref or Fn::GetAtt of a resource of the template is needed", n.Line)
	case name == "Ref" && arg.Kind == yaml.ScalarNode:
		id = arg.Value
	case name == "Fn::GetAtt" && arg.Kind == yaml.ScalarNode:
		id, _, _ = strings.Cut(arg.Value, ".")
	case name == "Fn::GetAtt" && arg.Kind == yaml.SequenceNode && len(arg.Content) == 2 && arg.Content[0].Kind == yaml.ScalarNode:
		id = arg.Content[0].Value
	default:
		return "", unresolved(n, name, "a Ref or Fn::GetAtt of a resource of the template")
	}
	if _, ok := t.Resources[id]; !ok {
		return "", fmt.Errorf("line %d: %s %s names no resource of the template", n.Line, name, id)
	}
	return id, nil
}

// Literal returns an error naming the first intrinsic function in n, a
// property read as it is written (such as a rule's EventPattern), or nil
// when it holds none.
func Literal(n yaml.Node) error {
	if name, _, ok := intrinsic(&n); ok {
		return unresolved(n, name, "a literal")
	}
	for _, c := range n.Content {
		if err := Literal(*c); err != nil {
			return err
		}
	}
	return nil
}

// unresolved is the error for intrinsic function name at n, where only
// want can be read locally.
func unresolved(n yaml.Node, name, want string) error {
	return fmt.Errorf("line %d: %s cannot be resolved without deploying the template; only %s can be read locally", n.Line, name, want)
}
